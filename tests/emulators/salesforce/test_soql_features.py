"""SOQL beyond plain lists, as generic tools write it: relative date literals, COUNT(Id) and
GROUP BY, and child subqueries through the relationships describe lists."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from emulators.seed import SeedOrg
from tests.fixtures.salesforce import EmulatorFactory


def test_relative_date_literals_select_by_the_org_clock(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = emu.client()
        now = datetime.now(UTC)
        ids = emu.org.ids("Account")[:3]
        emu.org.touch("Account", [ids[0]], at=now - timedelta(minutes=5))
        emu.org.touch("Account", [ids[1]], at=now - timedelta(days=3))
        emu.org.touch("Account", [ids[2]], at=now - timedelta(days=40))
        recent = {
            r["Id"]
            for r in sf.query_all("SELECT Id FROM Account WHERE SystemModstamp = LAST_N_DAYS:7")["records"]
        }
        assert {ids[0], ids[1]} <= recent and ids[2] not in recent
        today = {
            r["Id"] for r in sf.query_all("SELECT Id FROM Account WHERE SystemModstamp = TODAY")["records"]
        }
        assert ids[0] in today and ids[1] not in today
        older = {
            r["Id"]
            for r in sf.query_all("SELECT Id FROM Account WHERE SystemModstamp < LAST_N_DAYS:30")["records"]
        }
        assert ids[2] in older and ids[0] not in older
        today = now.date()
        last_year = sf.query("SELECT COUNT() FROM Opportunity WHERE CloseDate = LAST_N_DAYS:365")
        expected = sum(
            1 for d in small_org.opportunities if today - timedelta(days=365) <= d.close_date <= today
        )
        assert last_year["totalSize"] == expected
        with pytest.raises(SalesforceMalformedRequest):
            sf.query("SELECT Id FROM Account WHERE Name = TODAY")


def test_count_and_group_by_answer_aggregate_results(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = emu.client()
        total = sf.query("SELECT COUNT(Id) FROM Account")["records"]
        assert total == [{"attributes": {"type": "AggregateResult"}, "expr0": 200}]
        rows = sf.query(
            "SELECT Industry, COUNT(Id) n, SUM(Potential__c) FROM Account GROUP BY Industry ORDER BY n DESC"
        )["records"]
        expected = Counter(a.industry for a in small_org.accounts)
        assert {r["Industry"]: r["n"] for r in rows} == dict(expected)
        assert [r["n"] for r in rows] == sorted(expected.values(), reverse=True)
        assert all(r["attributes"]["type"] == "AggregateResult" and "expr0" in r for r in rows)
        stages = sf.query(
            "SELECT StageName, COUNT(Id) FROM Opportunity WHERE IsClosed = true GROUP BY StageName"
        )
        assert {r["StageName"] for r in stages["records"]} == {"Closed Won", "Closed Lost"}
        with pytest.raises(SalesforceMalformedRequest):
            sf.query("SELECT Industry, Name, COUNT(Id) FROM Account GROUP BY Industry")


def test_child_subqueries_nest_each_parents_children(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = emu.client()
        rows = sf.query_all(
            "SELECT Id, Name, (SELECT Id, Email FROM Contacts), (SELECT Id, StageName FROM Opportunities "
            "WHERE IsClosed = false) FROM Account ORDER BY Id"
        )["records"]
        ids = emu.org.ids("Account")
        contacts = Counter(ids[c.account_index] for c in small_org.contacts)
        open_deals = Counter(ids[d.account_index] for d in small_org.opportunities if not d.stage.is_closed)
        for row in rows:
            block = row["Contacts"]
            assert (block["totalSize"] if block else 0) == contacts[row["Id"]]
            deals = row["Opportunities"]
            assert (deals["totalSize"] if deals else 0) == open_deals[row["Id"]]
        with_contact = next(r for r in rows if r["Contacts"])
        assert with_contact["Contacts"]["records"][0]["attributes"]["type"] == "Contact"
        with pytest.raises(SalesforceMalformedRequest) as unknown:
            sf.query("SELECT Id, (SELECT Id FROM Widgets) FROM Account")
        assert unknown.value.content[0]["errorCode"] == "INVALID_TYPE"
