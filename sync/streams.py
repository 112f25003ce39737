"""Where each neutral stream lands in the store: its table and its intake, one entry per `Stream`.

The CRM half of a stream (object, fields, mapper, cursor field, deletions) is
declared by each connector's `streams` module; `connectors/` may not import
`sync/`, so the store half is declared here. Adding a stream is one
`StreamSpec` per CRM there and one `StreamStore` here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from connectors.base import (
    STREAM_RECORDS,
    AccountRecord,
    ActivityRecord,
    OpportunityRecord,
    Page,
    RepRecord,
    Stream,
)
from sync import intake
from sync.intake import Intake, IntakeContext
from sync.store import AccountRow, ActivityRow, OpportunityRow, RepRow

R = TypeVar("R")
PulledTable = type[AccountRow] | type[RepRow] | type[ActivityRow] | type[OpportunityRow]


@dataclass(frozen=True)
class StreamStore(Generic[R]):
    """The store's side of one stream: the table its records land in and the intake that makes rows."""

    stream: Stream
    table: PulledTable
    intake: Callable[[Sequence[R], IntakeContext], Intake[Any]]

    def records(self, page: Page[Any]) -> Sequence[R]:
        """The page's records, checked to be what this stream carries (a connector bug otherwise)."""
        expected = STREAM_RECORDS[self.stream]
        for record in page.records:
            if not isinstance(record, expected):
                raise TypeError(f"the {self.stream} stream got a {type(record).__name__}")
        return page.records


STORES: Mapping[Stream, StreamStore[Any]] = {
    Stream.REPS: StreamStore[RepRecord](Stream.REPS, RepRow, intake.reps),
    Stream.ACCOUNTS: StreamStore[AccountRecord](Stream.ACCOUNTS, AccountRow, intake.accounts),
    Stream.ACTIVITIES: StreamStore[ActivityRecord](Stream.ACTIVITIES, ActivityRow, intake.activities),
    Stream.OPPORTUNITIES: StreamStore[OpportunityRecord](
        Stream.OPPORTUNITIES, OpportunityRow, intake.opportunities
    ),
}
# Reps before accounts before activities: a run's accounts can name owners it has just pulled.
PULL_ORDER: tuple[Stream, ...] = (Stream.REPS, Stream.ACCOUNTS, Stream.ACTIVITIES, Stream.OPPORTUNITIES)


def parse_streams(names: Iterable[Stream | str]) -> tuple[Stream, ...]:
    """Stream names (from a task, a webhook or the CLI) as streams; an unknown name is refused."""
    chosen = []
    for name in names:
        try:
            chosen.append(Stream(name))
        except ValueError:
            known = ", ".join(s.value for s in PULL_ORDER)
            raise ValueError(f"no stream {name!r}: the streams are {known}") from None
    return tuple(chosen)
