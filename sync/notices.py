"""Reps hear about territory changes in their CRM: one Task per affected rep, per plan.

Built from a diff's per-rep account of owner changes: each rep who gains or
loses accounts gets one notice listing them, with the reason and the
effective date. The notice is an outbox change keyed by plan run and rep, so
pushing the same plan again queues nothing, and its CRM key makes a resend
after a crash update the same Task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING

from sync.outbox import Change
from sync.store.outbox_payload import NoticePayload

if TYPE_CHECKING:
    from sync.diff import RepDiff

NOTICE_KEY_PREFIX = "tsn-"  # CRM keys of our notices (visits use "ts-")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def notice_subject(gained: int, lost: int) -> str:
    """"Territory change: 3 accounts gained, 1 lost"."""
    parts = []
    if gained:
        parts.append(f"{_plural(gained, 'account')} gained")
    if lost:
        parts.append(f"{lost} lost" if gained else f"{_plural(lost, 'account')} lost")
    return "Territory change: " + ", ".join(parts)


def _line(name: str, account_id: str, direction: str, other: str | None, reason: str, on: date) -> str:
    who = f" {direction} {other}" if other else ""
    return f"- {name or account_id} ({account_id}){who}: {reason}; effective {on.isoformat()}"


def rep_notices(
    plan_run_id: int,
    reps: Iterable[RepDiff],
    rep_names: Mapping[str, str],
    *,
    effective: date,
) -> list[Change]:
    """One notice per rep whose book gains or loses accounts."""
    changes: list[Change] = []
    for rep in reps:
        if not rep.gained and not rep.lost:
            continue

        def name(rep_id: str | None) -> str | None:
            return rep_names.get(rep_id, rep_id) if rep_id else None

        lines = [f"Your territory changes with plan {plan_run_id}."]
        if rep.gained:
            lines.append("Accounts you gain:")
            lines += [
                _line(c.name, c.account_id, "from", name(c.other_rep), c.reason, c.effective or effective)
                for c in rep.gained
            ]
        if rep.lost:
            lines.append("Accounts you hand over:")
            lines += [
                _line(c.name, c.account_id, "to", name(c.other_rep), c.reason, c.effective or effective)
                for c in rep.lost
            ]
        key = f"{NOTICE_KEY_PREFIX}{plan_run_id}-{rep.rep_id}"
        payload = NoticePayload(
            notice_key=key,
            owner_id=rep.rep_id,
            subject=notice_subject(len(rep.gained), len(rep.lost)),
            description="\n".join(lines),
            due=min([effective, *(c.effective for c in (*rep.gained, *rep.lost) if c.effective)]),
        )
        changes.append(Change(key, f"{plan_run_id}:notice:{rep.rep_id}", payload))
    return changes

