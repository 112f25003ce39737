"""The store's half of the streams: every neutral stream lands somewhere, unknown names are refused."""

from __future__ import annotations

import pytest

from connectors.base import Stream
from sync.streams import PULL_ORDER, STORES, parse_streams


def test_every_neutral_stream_has_a_table_an_intake_and_a_place_in_the_pull_order() -> None:
    assert set(STORES) == set(Stream) == set(PULL_ORDER)
    assert len(set(PULL_ORDER)) == len(PULL_ORDER)
    tables = {store.table.__tablename__ for store in STORES.values()}
    assert tables == {"rep", "account", "activity", "opportunity"}


def test_stream_names_from_tasks_and_webhooks_become_streams_and_unknown_ones_are_refused() -> None:
    assert parse_streams(["accounts", Stream.ACTIVITIES]) == (Stream.ACCOUNTS, Stream.ACTIVITIES)
    known = "reps, accounts, activities, opportunities"
    with pytest.raises(ValueError, match=f"no stream 'deals': the streams are {known}"):
        parse_streams(["deals"])
