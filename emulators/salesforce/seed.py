"""Load a CRM-neutral `SeedOrg` into the Salesforce emulator's org.

Users (each with a Profile, a UserRole and a `TimeZoneSidKey`), Accounts
(territory-sync's custom fields, when the org's schema has them, and the
standard `Rating`, `AnnualRevenue`, `NumberOfEmployees`, `Type`), Events and
Tasks, Opportunities, and an Enterprise Territory Management model. The API
user (who logs in, and owns what the API creates without an owner) is the
integration user when the org has one, else the first active user.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from emulators.salesforce.org import SalesforceOrg
from emulators.salesforce.schema import STAGE_PROBABILITY
from emulators.seed import (
    Profile,
    Role,
    SeedAccount,
    SeedActivity,
    SeedContact,
    SeedOpportunity,
    SeedOrg,
    SeedUser,
)
from emulators.seed.model import ROLE_PARENTS

RATING_OF_TIER = {"A": "Hot", "B": "Warm", "C": "Cold"}


def seed_salesforce(org: SalesforceOrg, seed: SeedOrg) -> None:
    """Fill `org` from `seed`: people first, then accounts, activities, deals, territory management."""
    with org.lock:
        created = seed.as_of - timedelta(days=900)
        profiles = dict(
            zip(Profile, org.load_rows("Profile", [_named(p.value, created) for p in Profile]), strict=True)
        )
        roles = _seed_roles(org, created)
        user_ids = org.load_rows("User", [_user_row(u, profiles[u.profile], roles) for u in seed.users])
        api_user = seed.integration_user or next((u for u in seed.users if u.active), None)
        org.api_user_id = user_ids[api_user.index] if api_user is not None else None
        account_ids = org.load_rows("Account", [_account_row(a, user_ids) for a in seed.accounts])
        visits = [v for v in seed.activities if v.kind == "visit"]
        calls = [v for v in seed.activities if v.kind != "visit"]
        org.load_rows("Event", [_event_row(v, account_ids, user_ids) for v in visits])
        org.load_rows("Task", [_task_row(v, account_ids, user_ids) for v in calls])
        org.load_rows("Opportunity", [_opportunity_row(o, account_ids, user_ids) for o in seed.opportunities])
        org.load_rows("Contact", [_contact_row(c, seed, account_ids, user_ids) for c in seed.contacts])
        _seed_organization(org, seed.as_of)
        seed_territory_management(org, seed.as_of)


def _named(name: str, when: datetime) -> dict[str, Any]:
    return {"Name": name, "CreatedDate": when, "LastModifiedDate": when, "SystemModstamp": when}


def _seed_roles(org: SalesforceOrg, when: datetime) -> dict[Role, str]:
    """The role hierarchy, parents before children (`ROLE_PARENTS` is in that order)."""
    ids: dict[Role, str] = {}
    for role, parent in ROLE_PARENTS.items():
        row = {
            **_named(role.value, when),
            "DeveloperName": role.name.title().replace("_", ""),
            "ParentRoleId": ids[parent] if parent is not None else None,
        }
        ids[role] = org.load_rows("UserRole", [row])[0]
    return ids


def _user_row(user: SeedUser, profile_id: str, roles: Mapping[Role, str]) -> dict[str, Any]:
    return {
        "FirstName": user.first_name,
        "LastName": user.last_name,
        "Name": user.name,
        "Email": user.email,
        "Username": user.email.replace("@example.com", "@territory-sync.example"),
        "IsActive": user.active,
        "Latitude": user.home_lat,
        "Longitude": user.home_lon,
        "PostalCode": user.home_postal_code,
        "City": user.city,
        "State": user.state,
        "Title": user.role.value if user.role is not None else user.profile.value,
        "ProfileId": profile_id,
        "UserRoleId": roles[user.role] if user.role is not None else None,
        "TimeZoneSidKey": user.time_zone,
        "CreatedDate": _ms(user.modified_at - timedelta(days=400)),
        "LastModifiedDate": _ms(user.modified_at),
        "SystemModstamp": _ms(user.modified_at),
    }


def _account_row(a: SeedAccount, user_ids: list[str]) -> dict[str, Any]:
    placed = a.postal_code is not None
    return {
        "Name": a.name,
        "BillingLatitude": a.lat,
        "BillingLongitude": a.lon,
        "BillingStreet": a.street if placed else None,
        "BillingPostalCode": a.postal_code,
        "BillingCity": a.city if placed else None,
        "BillingState": a.state if placed else None,
        "BillingCountry": a.country,
        "Industry": a.industry,
        "OwnerId": user_ids[a.owner_index],
        "Tier__c": a.tier,
        "Potential__c": a.potential,
        "Effort__c": a.effort,
        "Locked__c": a.locked,
        "Required_Skills__c": ";".join(a.required_skills) or None,
        "Rating": RATING_OF_TIER.get(a.tier or ""),
        "AnnualRevenue": a.annual_revenue,
        "NumberOfEmployees": max(1, int(abs(a.potential or 20_000.0) / 2_500)),
        "Type": "Customer - Direct",
        "CreatedDate": a.created_at,
        "LastModifiedDate": a.modified_at,
        "SystemModstamp": a.modified_at,
    }


def _event_row(v: SeedActivity, account_ids: list[str], user_ids: list[str]) -> dict[str, Any]:
    return {
        "Subject": v.subject,
        "WhatId": account_ids[v.account_index],
        "OwnerId": user_ids[v.owner_index],
        "StartDateTime": v.start,
        "ActivityDateTime": v.start,
        "EndDateTime": v.end,
        "ActivityDate": v.start.date(),
        "DurationInMinutes": int((v.end - v.start).total_seconds() // 60),
        "IsAllDayEvent": False,
        "CreatedDate": v.modified_at,
        "LastModifiedDate": v.modified_at,
        "SystemModstamp": v.modified_at,
    }


def _task_row(v: SeedActivity, account_ids: list[str], user_ids: list[str]) -> dict[str, Any]:
    return {
        "Subject": v.subject,
        "WhatId": account_ids[v.account_index],
        "OwnerId": user_ids[v.owner_index],
        "ActivityDate": v.start.date(),
        "Status": "Completed" if v.completed else "Not Started",
        "Priority": "Normal",
        "IsClosed": v.completed,
        "TaskSubtype": "Call",
        "CreatedDate": v.modified_at,
        "LastModifiedDate": v.modified_at,
        "SystemModstamp": v.modified_at,
    }


def _opportunity_row(o: SeedOpportunity, account_ids: list[str], user_ids: list[str]) -> dict[str, Any]:
    return {
        "Name": o.name,
        "AccountId": account_ids[o.account_index],
        "OwnerId": user_ids[o.owner_index],
        "Amount": o.amount,
        "StageName": o.stage.value,
        "CloseDate": o.close_date,
        "Probability": STAGE_PROBABILITY[o.stage.value],
        "IsClosed": o.stage.is_closed,
        "IsWon": o.stage.is_won,
        "Type": "Existing Customer - Upgrade",
        "CreatedDate": o.created_at,
        "LastModifiedDate": o.modified_at,
        "SystemModstamp": o.modified_at,
    }


def _contact_row(
    c: SeedContact, seed: SeedOrg, account_ids: list[str], user_ids: list[str]
) -> dict[str, Any]:
    account = seed.accounts[c.account_index]
    return {
        "FirstName": c.first_name,
        "LastName": c.last_name,
        "Name": c.name,
        "Email": c.email,
        "Phone": c.phone,
        "Title": c.title,
        "AccountId": account_ids[c.account_index],
        "OwnerId": user_ids[c.owner_index],
        "MailingCity": account.city,
        "MailingState": account.state,
        "MailingPostalCode": account.postal_code,
        "MailingCountry": account.country,
        "CreatedDate": c.created_at,
        "LastModifiedDate": c.modified_at,
        "SystemModstamp": c.modified_at,
    }


def _seed_organization(org: SalesforceOrg, as_of: datetime) -> None:
    """The Organization row: the org itself, its id the org id every login names."""
    when = _ms(as_of - timedelta(days=1200))
    org.tables["organization"].rows[org.org_id] = {
        "Id": org.org_id,
        "Name": "Territory Sync Demo Co.",
        "Division": None,
        "OrganizationType": "Enterprise Edition",
        "InstanceName": "NA224",
        "IsSandbox": False,
        "TimeZoneSidKey": "America/New_York",
        "DefaultLocaleSidKey": "en_US",
        "LanguageLocaleKey": "en_US",
        "CreatedDate": when,
        "LastModifiedDate": when,
        "SystemModstamp": when,
    }


def _ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def seed_territory_management(org: SalesforceOrg, as_of: datetime) -> None:
    """A territory type, the Active model and a Planning model for territory-sync to fill."""
    when = _ms(as_of - timedelta(days=90))
    org.api_create(
        "Territory2Type",
        {"DeveloperName": "Field_Sales", "MasterLabel": "Field Sales", "Priority": 1},
        at=when,
    )
    active = org.api_create(
        "Territory2Model", {"Name": "Current Territories", "DeveloperName": "Current"}, at=when
    )
    org.tables["territory2model"].rows[active].update(State="Active", ActivatedDate=when)
    org.api_create(
        "Territory2Model",
        {"Name": "Territory Sync Plan", "DeveloperName": "Territory_Sync_Plan"},
        at=when,
    )
