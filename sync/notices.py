"""Reps hear about territory changes in their CRM: one Task per affected rep, per batch of changes.

Built from the owner changes a push queues (a plan's diff, or an approved
proposal's moves): each active rep who gains or loses accounts gets one
notice listing them, with the reason and the effective date. The notice is an
outbox change keyed by its batch (`scope`: the plan run, the proposal) and
the rep, so queuing the same batch again adds nothing, and its CRM key makes
a resend after a crash update the same Task.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from sync.outbox import Change
from sync.store.outbox_payload import NoticePayload

NOTICE_KEY_PREFIX = "tsn-"  # CRM keys of our notices (visits use "ts-")
LISTED = 100  # accounts listed per section; a redesign's longer lists end with a count
DESCRIPTION_LIMIT = 30_000  # under Salesforce's 32,000 for a Task's Description


class MovedAccount(Protocol):
    """An owner change as any batch describes it (a diff's move, a proposal's `ProposedMove`)."""

    @property
    def account_id(self) -> str: ...
    @property
    def account_name(self) -> str: ...
    @property
    def from_rep(self) -> str | None: ...
    @property
    def to_rep(self) -> str: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Move:
    """A `MovedAccount` of our own, for batches that describe moves some other way."""

    account_id: str
    account_name: str
    from_rep: str | None
    to_rep: str
    reason: str


@dataclass
class _Book:
    """One rep's side of the batch: the moves that bring accounts in and take them away."""

    gained: list[MovedAccount] = field(default_factory=list)
    lost: list[MovedAccount] = field(default_factory=list)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def notice_subject(gained: int, lost: int) -> str:
    """ "Territory change: 3 accounts gained, 1 lost"."""
    parts = []
    if gained:
        parts.append(f"{_plural(gained, 'account')} gained")
    if lost:
        parts.append(f"{lost} lost" if gained else f"{_plural(lost, 'account')} lost")
    return "Territory change: " + ", ".join(parts)


def _listed(lines: Iterable[str]) -> list[str]:
    shown = list(lines)
    if len(shown) <= LISTED:
        return shown
    return [*shown[:LISTED], f"- … and {len(shown) - LISTED} more (the plan's dry run lists them all)"]


def _fit(text: str) -> str:
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1] + "…"


def rep_notices(
    scope: str,
    moves: Iterable[MovedAccount],
    rep_names: Mapping[str, str],
    *,
    active: Collection[str],
    effective: date,
    effective_on: Mapping[str, date] | None = None,
    label: str = "",
) -> list[Change]:
    """One notice per active rep whose book gains or loses accounts in this batch (a rep who left
    reads no Tasks, and the CRM refuses to give them one). `effective_on` dates single accounts
    (a transition date); the others take effect on `effective`."""
    books: dict[str, _Book] = {}
    for m in moves:
        books.setdefault(m.to_rep, _Book()).gained.append(m)
        if m.from_rep:
            books.setdefault(m.from_rep, _Book()).lost.append(m)
    dates = effective_on or {}

    def on(m: MovedAccount) -> date:
        return dates.get(m.account_id, effective)

    def line(m: MovedAccount, direction: str, other: str | None) -> str:
        who = f" {direction} {rep_names.get(other, other)}" if other else ""
        return f"- {m.account_name or m.account_id} ({m.account_id}){who}: {m.reason}; effective {on(m)}"

    changes: list[Change] = []
    for rep_id, book in sorted(books.items()):
        if rep_id not in active:
            continue
        lines = [f"Your territory changes with {label or 'plan ' + scope}."]
        if book.gained:
            lines += ["Accounts you gain:", *_listed(line(m, "from", m.from_rep) for m in book.gained)]
        if book.lost:
            lines += ["Accounts you hand over:", *_listed(line(m, "to", m.to_rep) for m in book.lost)]
        key = f"{NOTICE_KEY_PREFIX}{scope}-{rep_id}"
        payload = NoticePayload(
            notice_key=key,
            owner_id=rep_id,
            subject=notice_subject(len(book.gained), len(book.lost)),
            description=_fit("\n".join(lines)),
            due=min(on(m) for m in (*book.gained, *book.lost)),
        )
        changes.append(Change(key, f"{scope}:notice:{rep_id}", payload))
    return changes
