"""Standard objects and shapes generic tools discover: Contact, Organization, compound addresses,
child relationships in describe, the versions and resources lists."""

from __future__ import annotations

import httpx
import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from emulators.seed import SeedOrg
from tests.fixtures.salesforce import EmulatorFactory


def test_contacts_organization_and_compound_addresses_look_like_a_real_orgs(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = emu.client()
        contacts = sf.query_all("SELECT Id, Name, Email, Account.Name, MailingAddress FROM Contact")[
            "records"
        ]
        assert len(contacts) == len(small_org.contacts) > 0
        assert contacts[0]["Account"]["Name"] and contacts[0]["MailingAddress"]["postalCode"]
        org = sf.query("SELECT Id, Name, OrganizationType, IsSandbox FROM Organization")["records"]
        assert org == [
            {
                "attributes": org[0]["attributes"],
                "Id": emu.org.org_id,
                "Name": "Territory Sync Demo Co.",
                "OrganizationType": "Enterprise Edition",
                "IsSandbox": False,
            }
        ]
        placed = next(i for i, a in enumerate(small_org.accounts) if a.lat is not None and a.postal_code)
        account_id = emu.org.ids("Account")[placed]
        account = sf.query(f"SELECT BillingAddress, BillingStreet FROM Account WHERE Id = '{account_id}'")[
            "records"
        ][0]
        address = account["BillingAddress"]
        assert address["postalCode"] == small_org.accounts[placed].postal_code
        assert address["latitude"] == small_org.accounts[placed].lat and address["geocodeAccuracy"] == "Zip"
        assert address["street"] == account["BillingStreet"]
        fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
        assert fields["BillingAddress"]["type"] == "address" and not fields["BillingAddress"]["updateable"]
        assert fields["BillingCity"]["compoundFieldName"] == "BillingAddress"
        with pytest.raises(SalesforceMalformedRequest):
            sf.Account.update(emu.org.ids("Account")[0], {"BillingAddress": {"city": "X"}})


def test_describe_lists_child_relationships_and_the_org_lists_versions_and_resources(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = emu.client()
        children = {
            (c["childSObject"], c["relationshipName"]) for c in sf.Account.describe()["childRelationships"]
        }
        assert {
            ("Contact", "Contacts"),
            ("Opportunity", "Opportunities"),
            ("Event", "Events"),
            ("Task", "Tasks"),
        } <= children
        versions = httpx.get(f"{emu.url}/services/data/").json()
        assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
        assert versions[-1]["version"] == "66.0"
        resources = sf.restful("")
        assert resources["sobjects"] == "/services/data/v59.0/sobjects" and "jobs" in resources
        limits = sf.limits()
        assert len(limits) > 40 and {
            "DailyBulkApiBatches",
            "DailyAsyncApexExecutions",
            "PermissionSets",
        } <= set(limits)
