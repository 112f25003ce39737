"""The Salesforce emulator seeds orgs that look like real ones: non-field users with profiles and
roles, open pipeline, standard fields, an org without custom fields, and field-level security."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from emulators.seed import Profile, SeedOrg, generate_org
from tests.fixtures.salesforce import AS_OF, EmulatorFactory


@pytest.fixture(scope="module")
def staffed_org() -> SeedOrg:
    return generate_org(300, 8, seed=12, as_of=AS_OF, staff=True)


def test_a_rep_filter_on_profile_role_and_activity_finds_exactly_the_field_team(
    salesforce_emulator: EmulatorFactory, staffed_org: SeedOrg
) -> None:
    with salesforce_emulator(staffed_org) as emu:
        sf = emu.client()
        reps = sf.query_all(
            "SELECT Id, Email, TimeZoneSidKey, Profile.Name, UserRole.Name FROM User "
            "WHERE Profile.Name = 'Field Sales' AND IsActive = true ORDER BY Email"
        )["records"]
        team = sorted(staffed_org.field_team, key=lambda r: r.email)
        assert [r["Email"] for r in reps] == [r.email for r in team]
        assert [r["TimeZoneSidKey"] for r in reps] == [r.time_zone for r in team]
        assert {r["UserRole"]["Name"] for r in reps} == {"Field Sales Rep", "Overlay Specialist"}
        everyone = sf.query_all("SELECT Profile.Name, UserRole.Name, Email FROM User")["records"]
        profiles = Counter(u["Profile"]["Name"] for u in everyone)
        assert profiles == {
            "Field Sales": 8,
            "System Administrator": 1,
            "Integration User": 1,
            "Sales Manager": 1,
            "Inside Sales": 2,
        }
        integration = next(u for u in everyone if u["Profile"]["Name"] == "Integration User")
        assert integration["UserRole"] is None
        imported = sf.query("SELECT COUNT() FROM Account WHERE Owner.Profile.Name = 'Integration User'")
        assert imported["totalSize"] == 40
        roles = sf.query("SELECT Name, ParentRole.Name FROM UserRole WHERE Name = 'Field Sales Rep'")[
            "records"
        ]
        assert roles[0]["ParentRole"]["Name"] == "Sales Manager"
        # The integration user is who logged in, and owns what the API creates without an owner.
        created = sf.Account.create({"Name": "Imported Later Inc."})["id"]
        assert sf.Account.get(created)["OwnerId"] == integration["attributes"]["url"].rsplit("/", 1)[1]


def test_opportunities_are_described_and_pulled_incrementally_like_accounts(
    salesforce_emulator: EmulatorFactory, staffed_org: SeedOrg
) -> None:
    with salesforce_emulator(staffed_org) as emu:
        sf = emu.client()
        fields = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
        assert fields["StageName"]["type"] == "picklist" and fields["CloseDate"]["type"] == "date"
        assert fields["Amount"]["type"] == "currency" and fields["AccountId"]["referenceTo"] == ["Account"]
        assert not fields["IsClosed"]["updateable"] and not fields["IsWon"]["createable"]
        total = sf.query("SELECT COUNT() FROM Opportunity")["totalSize"]
        assert total == len(staffed_org.opportunities)
        open_deals = sf.query_all("SELECT Id, Amount, StageName FROM Opportunity WHERE IsClosed = false")
        assert open_deals["totalSize"] == sum(1 for d in staffed_org.opportunities if not d.stage.is_closed)

        cutoff = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
        ids = emu.org.ids("Opportunity")[:3]
        emu.org.update("Opportunity", ids[0], {"StageName": "Closed Won"}, at=cutoff)
        emu.org.update("Opportunity", ids[1], {"Amount": 12_345}, at=cutoff)
        emu.org.soft_delete("Opportunity", [ids[2]], at=cutoff + timedelta(minutes=1))
        literal = cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
        changed = sf.query_all(
            "SELECT Id, IsDeleted, IsClosed, IsWon, Account.Name, Owner.Email FROM Opportunity "
            f"WHERE SystemModstamp >= {literal} ORDER BY SystemModstamp, Id",
            include_deleted=True,
        )["records"]
        assert [r["Id"] for r in changed] == [*sorted(ids[:2]), ids[2]]
        won = next(r for r in changed if r["Id"] == ids[0])
        assert won["IsClosed"] is True and won["IsWon"] is True and won["Account"]["Name"]
        assert changed[-1]["IsDeleted"] is True

        account = emu.org.ids("Account")[0]
        new = sf.Opportunity.create(
            {"Name": "Pilot", "AccountId": account, "StageName": "Prospecting", "CloseDate": "2026-09-30"}
        )
        row = sf.Opportunity.get(new["id"])
        assert (row["IsClosed"], row["Probability"], row["CloseDate"]) == (False, 10.0, "2026-09-30")


def test_describe_tells_types_picklists_and_what_the_api_user_may_change(
    salesforce_emulator: EmulatorFactory, staffed_org: SeedOrg
) -> None:
    access = {"Account.Territory__c": "read", "Account.Potential__c": "hidden"}
    with salesforce_emulator(staffed_org, field_access=access) as emu:
        sf = emu.client()
        fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
        assert [v["value"] for v in fields["Rating"]["picklistValues"]] == ["Hot", "Warm", "Cold"]
        assert fields["AnnualRevenue"]["type"] == "currency" and fields["AnnualRevenue"]["updateable"]
        assert fields["Required_Skills__c"]["type"] == "multipicklist"
        assert fields["Territory__c"]["updateable"] is False and fields["Territory__c"]["createable"] is False
        assert "Potential__c" not in fields
        account = emu.org.ids("Account")[0]
        with pytest.raises(SalesforceMalformedRequest) as read_only:
            sf.Account.update(account, {"Territory__c": "North"})
        assert read_only.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
        with pytest.raises(SalesforceMalformedRequest) as hidden:
            sf.query("SELECT Id, Potential__c FROM Account")
        assert hidden.value.content[0]["errorCode"] == "INVALID_FIELD"
        ratings = Counter(r["Rating"] for r in sf.query_all("SELECT Rating FROM Account")["records"])
        assert {"Hot", "Warm", "Cold"} <= set(ratings)


def test_an_org_without_custom_fields_serves_standard_fields_and_refuses_ours(
    salesforce_emulator: EmulatorFactory, staffed_org: SeedOrg
) -> None:
    with salesforce_emulator(staffed_org, schema="standard") as emu:
        sf = emu.client()
        for sobject in ("Account", "Event", "Task", "Opportunity", "User"):
            described = sf.restful(f"sobjects/{sobject}/describe")
            assert not [f["name"] for f in described["fields"] if f["custom"]], sobject
        rows = sf.query_all("SELECT Id, Rating, AnnualRevenue, BillingPostalCode FROM Account")["records"]
        assert len(rows) == 300 and sum(1 for r in rows if r["AnnualRevenue"]) > 250
        with pytest.raises(SalesforceMalformedRequest) as query:
            sf.query("SELECT Id, Tier__c FROM Account")
        assert query.value.content[0]["errorCode"] == "INVALID_FIELD"
        with pytest.raises(SalesforceMalformedRequest) as update:
            sf.Account.update(rows[0]["Id"], {"Territory__c": "North"})
        assert update.value.content[0]["errorCode"] == "INVALID_FIELD"
        batch = [{"attributes": {"type": "Account"}, "id": r["Id"], "Territory__c": "East"} for r in rows[:2]]
        results = sf.restful("composite/sobjects", method="PATCH", json={"records": batch})
        assert [r["errors"][0]["statusCode"] for r in results] == ["INVALID_FIELD", "INVALID_FIELD"]
        with pytest.raises(SalesforceResourceNotFound):
            sf.Event.upsert("Visit_Key__c/v-1", {"Subject": "Visit"})
        assert sf.Account.update(rows[0]["Id"], {"Rating": "Hot", "AnnualRevenue": 2_500_000}) == 204
        assert emu.org.get("Account", rows[0]["Id"])["Rating"] == "Hot"
        assert Profile.FIELD_SALES.value in {
            u["Profile"]["Name"] for u in sf.query_all("SELECT Profile.Name FROM User")["records"]
        }
