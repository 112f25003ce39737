"""The people of a seeded org beyond who owns what: each field rep's planning facts, the org's
other users (admin, integration user, manager, inside sales) and the team file the daemon reads.

`write_team_file(org, path)` writes the active field reps as the CSV that
`TEAM_FILE` names: `email` plus `home_postal_code`, `home_lat`, `home_lon`,
`skills` (`;`-separated), `target_share`, `overlay`, `working_days`,
`day_start`, `day_end`, `days_off`. Every rep gets a postal code; reps with
an odd index also get coordinates, so both ways of placing a home are used.
"""

from __future__ import annotations

import csv
import dataclasses
from datetime import datetime, time, timedelta
from pathlib import Path

import numpy as np

from emulators.seed.model import (
    SKILLS,
    DaysOff,
    Profile,
    Role,
    SeedOrg,
    SeedUser,
    Team,
)
from emulators.seed.places import IntArray

TEAM_FILE_COLUMNS = (
    "email",
    "home_postal_code",
    "home_lat",
    "home_lon",
    "skills",
    "target_share",
    "overlay",
    "working_days",
    "day_start",
    "day_end",
    "days_off",
)
SKILLED_REP_SHARE = 0.35
SKILLED_ACCOUNT_SHARE = 0.3  # of the accounts a skilled rep owns, those that need the skill
RAMPING_TARGET_SHARE = 0.5


def with_rep_facts(rng: np.random.Generator, reps: list[SeedUser], as_of: datetime) -> list[SeedUser]:
    """Give some active reps skills, and one each a ramping share, an overlay role, days off, a short week.

    Every skill is held by at least one active rep when there are enough of them.
    """
    active = [r.index for r in reps if r.active]
    order = [int(i) for i in rng.permutation(active)]
    skills: dict[int, tuple[str, ...]] = {}
    for k, index in enumerate(order):
        if k < len(SKILLS):
            skills[index] = (SKILLS[k],)
        elif rng.random() < SKILLED_REP_SHARE:
            chosen = rng.choice(len(SKILLS), size=int(rng.integers(1, 3)), replace=False)
            skills[index] = tuple(SKILLS[int(c)] for c in sorted(chosen))
    special = dict(zip(("ramping", "overlay", "days_off", "short_week"), order[::-1], strict=False))
    today = as_of.date()
    out = []
    for rep in reps:
        changes: dict[str, object] = {"skills": skills.get(rep.index, ())}
        if rep.index == special.get("ramping"):
            changes["target_share"] = RAMPING_TARGET_SHARE
        if rep.index == special.get("overlay"):
            changes.update(
                overlay=True, role=Role.OVERLAY_SPECIALIST, teams=(Team.FIELD_SALES, Team.SPECIALISTS)
            )
            changes["skills"] = tuple(sorted({*skills.get(rep.index, ()), "Medical devices"}))
        if rep.index == special.get("days_off"):
            changes["days_off"] = (
                DaysOff(today + timedelta(days=14), today + timedelta(days=18)),
                DaysOff(today + timedelta(days=30), today + timedelta(days=30)),
            )
        if rep.index == special.get("short_week"):
            changes.update(
                working_days=("Mon", "Tue", "Wed", "Thu"), day_start=time(7, 30), day_end=time(16, 0)
            )
        out.append(dataclasses.replace(rep, **changes))  # type: ignore[arg-type]
    return out


def required_skills(
    rng: np.random.Generator, owners: IntArray, users: list[SeedUser]
) -> list[tuple[str, ...]]:
    """Per account: a skill its owner has, for a share of a skilled rep's accounts; else none."""
    draws = rng.random(owners.size).tolist()
    picks = rng.integers(0, len(SKILLS), owners.size).tolist()
    out: list[tuple[str, ...]] = []
    for owner, draw, pick in zip(owners.tolist(), draws, picks, strict=True):
        held = users[owner].skills
        out.append((held[pick % len(held)],) if held and draw < SKILLED_ACCOUNT_SHARE else ())
    return out


# Who else works in the org, and how many accounts each one owns (the integration user's
# book is `imported_accounts`).
_STAFF: tuple[tuple[str, str, str, Profile, Role | None, tuple[Team, ...], int], ...] = (
    ("Morgan", "Admin", "admin", Profile.ADMIN, Role.SALES_OPERATIONS, (Team.OPERATIONS,), 2),
    ("Integration", "User", "integration", Profile.INTEGRATION, None, (), -1),
    (
        "Dana",
        "Reyes",
        "dana.reyes.manager",
        Profile.SALES_MANAGER,
        Role.SALES_MANAGER,
        (Team.SALES_LEADERSHIP,),
        5,
    ),
    (
        "Chris",
        "Okafor",
        "chris.okafor.inside",
        Profile.INSIDE_SALES,
        Role.INSIDE_SALES_REP,
        (Team.INSIDE_SALES,),
        3,
    ),
    (
        "Lee",
        "Nguyen",
        "lee.nguyen.inside",
        Profile.INSIDE_SALES,
        Role.INSIDE_SALES_REP,
        (Team.INSIDE_SALES,),
        3,
    ),
)


def staff_users(first_index: int, as_of: datetime) -> list[SeedUser]:
    """The admin, the integration user, a sales manager and two inside-sales users (no homes)."""
    return [
        SeedUser(
            index=first_index + k,
            first_name=first,
            last_name=last,
            email=f"{local}@example.com",
            home_lat=None,
            home_lon=None,
            home_postal_code=None,
            metro="",
            active=True,
            modified_at=as_of - timedelta(days=30 + k),
            profile=profile,
            role=role,
            teams=teams,
        )
        for k, (first, last, local, profile, role, teams, _) in enumerate(_STAFF)
    ]


def staff_books(
    rng: np.random.Generator, owners: IntArray, staff: list[SeedUser], imported_accounts: int
) -> IntArray:
    """Account owners once the staff own their books: distinct accounts drawn at random."""
    sizes = [imported_accounts if book < 0 else book for *_, book in _STAFF]
    total = min(sum(sizes), owners.size)
    chosen = rng.permutation(owners.size)[:total]
    out = owners.copy()
    start = 0
    for user, size in zip(staff, sizes, strict=True):
        out[chosen[start : start + size]] = user.index
        start += size
    return out


def _row(rep: SeedUser) -> dict[str, str]:
    placed = rep.index % 2 == 1 and rep.home_lat is not None and rep.home_lon is not None
    return {
        "email": rep.email,
        "home_postal_code": rep.home_postal_code or "",
        "home_lat": f"{rep.home_lat:.6f}" if placed and rep.home_lat is not None else "",
        "home_lon": f"{rep.home_lon:.6f}" if placed and rep.home_lon is not None else "",
        "skills": ";".join(rep.skills),
        "target_share": "" if rep.target_share is None else f"{rep.target_share:g}",
        "overlay": "true" if rep.overlay else "",
        "working_days": ";".join(rep.working_days),
        "day_start": rep.day_start.strftime("%H:%M") if rep.day_start else "",
        "day_end": rep.day_end.strftime("%H:%M") if rep.day_end else "",
        "days_off": ";".join(d.as_text() for d in rep.days_off),
    }


def write_team_file(org: SeedOrg, path: Path | str) -> Path:
    """Write the org's active field reps as a team file (CSV with a header); returns the path."""
    target = Path(path)
    with target.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=TEAM_FILE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(_row(rep) for rep in org.field_team)
    return target
