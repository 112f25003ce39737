"""Intake: hostile records become rows or reported problems, never a stopped run."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.base import AccountRecord, Stream
from sync.geocode import ZipCentroidGeocoder
from sync.intake import IntakeContext, accounts
from sync.runs import RecordProblem

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def test_text_longer_than_its_column_is_cut_and_reported_and_an_overlong_id_is_not_stored() -> None:
    records = [
        AccountRecord("001A", "Acme", NOW, lat=40.7, lon=-74.0, postal_code="1" * 40, territory="T" * 500),
        AccountRecord("0" * 80, "Too long an id", NOW, lat=40.7, lon=-74.0),
        AccountRecord("001B", "Fine", NOW, lat=40.7, lon=-74.0, postal_code="10001"),
    ]
    got = accounts(records, IntakeContext("acme", ZipCentroidGeocoder()))
    assert [r.crm_id for r in got.rows] == ["001A", "001B"]
    assert got.rows[0].postal_code == "1" * 32 and got.rows[0].territory == "T" * 120
    assert RecordProblem(Stream.ACCOUNTS, "001A", "postal_code is longer than 32 characters: cut to fit") in (
        got.problems
    )
    assert RecordProblem(Stream.ACCOUNTS, "0" * 64, "crm_id is longer than 64 characters: not stored") in (
        got.problems
    )
    assert all(p.crm_id != "001B" for p in got.problems)
