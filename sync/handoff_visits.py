"""How a handoff's joint visit is keyed and named in the CRM: one calendar entry per rep.

Both reps visit the account on the same day, so the day's visit key (account
and date) would name both entries: a joint visit's key adds its rep.
"""

from __future__ import annotations

from datetime import date

import planner

HANDOFF_KEY_MARK = "-handoff-"


def visit_key(prefix: str, rep_id: str, visit: planner.Visit, day: date) -> str:
    """A visit's CRM key; a joint handoff visit is one per rep (both are at the account that day)."""
    key = f"{prefix}{visit.account_id}-{day:%Y%m%d}"
    return f"{key}{HANDOFF_KEY_MARK}{rep_id}" if visit.joint_with else key
