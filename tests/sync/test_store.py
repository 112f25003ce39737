"""The store: migrations, UTC timestamps and the bulk upsert of a pulled page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, text
from sqlmodel import select

from connectors.base import CRMKind
from sync.store import (
    AccountRow,
    CrmOrg,
    OutboxItem,
    OutboxKind,
    PlanRun,
    RunKind,
    RunStatus,
    RunTrigger,
    SyncRun,
    make_engine,
    transaction,
    upsert_page,
)
from sync.store.outbox_payload import VisitPayload
from sync.store.plan_summary import HumanEdit
from sync.store.schema import check, upgrade

T0 = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


def _page(n: int, *, at: datetime, name: str) -> list[AccountRow]:
    return [
        AccountRow(
            org_id="acme",
            crm_id=f"001{i:05d}",
            name=f"{name} {i}",
            potential=float(i),
            crm_modified_at=at,
            raw={"Id": f"001{i:05d}", "Name": f"{name} {i}"},
        )
        for i in range(n)
    ]


def _org(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(CrmOrg(id="acme", kind=CRMKind.SALESFORCE, name="Acme"))


def test_migrations_apply_to_an_empty_store_and_match_the_models(database_url: str) -> None:
    upgrade(database_url)
    check(database_url)  # raises if models and migrations drifted apart


def test_upserting_the_same_page_twice_keeps_one_row_per_record_with_newer_values(
    store: Engine,
) -> None:
    _org(store)
    with transaction(store) as session:
        upsert_page(AccountRow, _page(300, at=T0, name="Old"), session=session)
    with transaction(store) as session:
        report = upsert_page(AccountRow, _page(300, at=T0 + timedelta(hours=1), name="New"), session=session)
    assert report.rows == 300
    with transaction(store) as session:
        assert session.exec(select(func.count()).select_from(AccountRow)).one() == 300
        row = session.get(AccountRow, ("acme", "00100007"))
        assert row is not None
        assert row.name == "New 7"
        assert row.raw["Name"] == "New 7"
        assert row.crm_modified_at == T0 + timedelta(hours=1)


def test_a_stale_page_does_not_overwrite_fresher_rows(store: Engine) -> None:
    _org(store)
    with transaction(store) as session:
        upsert_page(AccountRow, _page(5, at=T0, name="Fresh"), session=session)
    with transaction(store) as session:
        upsert_page(AccountRow, _page(5, at=T0 - timedelta(days=1), name="Stale"), session=session)
    with transaction(store) as session:
        names = {r.name for r in session.exec(select(AccountRow)).all()}
    assert names == {f"Fresh {i}" for i in range(5)}


def test_a_duplicate_id_inside_a_page_is_reported_and_the_last_one_wins(store: Engine) -> None:
    _org(store)
    page = _page(3, at=T0, name="First")
    page.append(AccountRow(org_id="acme", crm_id=page[1].crm_id, name="Second copy", potential=99.0))
    with transaction(store) as session:
        report = upsert_page(AccountRow, page, session=session)
    assert report.rows == 3
    assert report.duplicate_keys == (("acme", "00100001"),)
    with transaction(store) as session:
        row = session.get(AccountRow, ("acme", "00100001"))
        assert row is not None and row.name == "Second copy" and row.potential == 99.0


def test_a_page_wider_than_the_parameter_cap_is_written_whole(store: Engine) -> None:
    _org(store)
    with transaction(store) as session:
        report = upsert_page(AccountRow, _page(2000, at=T0, name="Wide"), session=session)
    assert report.rows == 2000
    with transaction(store) as session:
        assert session.exec(select(func.count()).select_from(AccountRow)).one() == 2000


def test_timestamps_come_back_timezone_aware_in_utc(store: Engine) -> None:
    _org(store)
    berlin = timezone(timedelta(hours=2))
    row = AccountRow(org_id="acme", crm_id="1", crm_modified_at=datetime(2026, 5, 1, 11, 30, tzinfo=berlin))
    with transaction(store) as session:
        upsert_page(AccountRow, [row], session=session)
    with transaction(store) as session:
        row = session.get(AccountRow, ("acme", "1"))
        assert row is not None and row.crm_modified_at is not None
        assert row.crm_modified_at.utcoffset() == timedelta(0)
        assert row.crm_modified_at == T0


def test_naive_timestamps_are_refused(store: Engine) -> None:
    _org(store)
    with pytest.raises(Exception, match="naive datetime"), transaction(store) as session:
        upsert_page(
            AccountRow,
            [AccountRow(org_id="acme", crm_id="1", crm_modified_at=datetime(2026, 5, 1))],
            session=session,
        )


def test_statuses_and_kinds_come_back_as_their_enums_and_an_unknown_one_is_refused(store: Engine) -> None:
    _org(store)
    with transaction(store) as session:
        session.add(SyncRun(org_id="acme", kind=RunKind.PULL, trigger=RunTrigger.NIGHTLY))
    with transaction(store) as session:
        run = session.exec(select(SyncRun)).one()
        org = session.get(CrmOrg, "acme")
    assert (run.kind, run.trigger, run.status) == (RunKind.PULL, RunTrigger.NIGHTLY, RunStatus.RUNNING)
    assert isinstance(run.status, RunStatus) and org is not None and org.kind is CRMKind.SALESFORCE
    with pytest.raises(Exception, match="'sideways' is not a valid RunKind"), transaction(store) as session:
        session.add(SyncRun(org_id="acme", kind="sideways"))


def test_a_store_written_before_the_typed_documents_reads_them_back_typed_after_the_upgrade(
    database_url: str,
) -> None:
    upgrade(database_url, "0001")
    engine = make_engine(database_url)
    old_visit = {
        "visit_key": "ts-001-20260601",
        "account_id": "001",
        "owner_id": "005",
        "start": "2026-06-01T09:00:00+00:00",
        "end": "2026-06-01T09:45:00+00:00",
        "subject": "Visit: 001",
        "cancelled": False,
    }
    old_summary = {
        "horizon_start": "2026-05-02T00:00:00+00:00",
        "moves": 3,
        "human_edits": [{"account_id": "001", "field": "owner", "pushed": "005", "crm_value": "006"}],
        "solver": {"status": "lp+repair", "seconds": 1.5, "lower_bound_travel_km": None},
        "reps": {"005": {"name": "Ada", "home_lat": 40.7, "home_lon": -74.0}},
    }
    now = "2026-05-01 09:30:00"
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO crm_org (id, kind, name, created_at) VALUES ('acme', 'salesforce', '', :t)"),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO outbox (org_id, idempotency_key, kind, record_id, payload, status, attempts, "
                "created_at, updated_at) "
                "VALUES ('acme', 'k1', 'visit', 'ts-001-20260601', :p, 'done', 1, :t, :t)"
            ),
            {"p": json.dumps(old_visit), "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO plan_run (org_id, created_at, mode, seed, inputs_fingerprint, status, "
                "metrics_before, metrics_after, summary) VALUES ('acme', :t, 'minimal', 0, '', 'succeeded', "
                ":m, :m, :s)"
            ),
            {"t": now, "m": json.dumps({}), "s": json.dumps(old_summary)},
        )
    upgrade(database_url)
    with transaction(engine) as session:
        item = session.exec(select(OutboxItem)).one()
        plan_run = session.exec(select(PlanRun)).one()
    engine.dispose()
    assert isinstance(item.payload, VisitPayload) and item.kind is OutboxKind.VISIT
    assert item.payload.start == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    summary = plan_run.summary
    assert summary.moves == 3 and summary.solver.status == "lp+repair"
    assert summary.human_edits == (HumanEdit(account_id="001", field="owner", pushed="005", crm_value="006"),)
    assert summary.reps["005"].name == "Ada" and plan_run.metrics_before.reps == ()
