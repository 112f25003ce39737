"""Who is on the field team of an org, from which source, with which facts, and what is missing.

The customer says who is a rep, once: a `TEAM_FILE` (rows keyed by email or
CRM id), a CRM rule (`SALESFORCE_REP_FILTER`, `HUBSPOT_REP_TEAMS`, marked on
each rep row at the pull), or both, the file's facts winning per rep. Only
members are planned; accounts owned by anyone else are handed to members
(`explain_team_moves` words the reason). With no team defined every active
user is planned as before, but nothing is written to the CRM (`push`).

The file's facts are read at each plan rather than stored: the file is the
source of truth ops keep in version control, so an edit counts at the next
run and the store never holds a stale copy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from connectors.base import CRMKind, Stream
from planner import Move, Rep, TerritoryPlan
from planner.model import WEEKDAY_NAMES, hhmm
from sync.geocode import Geocoder, Point
from sync.rep_facts import RepFacts
from sync.runs import RecordProblem
from sync.settings import Settings
from sync.store import RepRow
from sync.team_file import TeamEntry, TeamFile, load_team_file

NOT_ON_TEAM = "owner is not on the field team"
NO_TEAM_HINT = (
    "no field team is defined: set TEAM_FILE (a CSV of the field reps) or {rule}; until then runs "
    "plan and show their dry run but write nothing to the CRM"
)


class MemberSource(StrEnum):
    TEAM_FILE = "team file"
    CRM_RULE = "CRM rule"
    BOTH = "team file + CRM rule"
    EVERY_ACTIVE_USER = "every active user (no team defined)"


class HomeSource(StrEnum):
    TEAM_FILE = "team file coordinates"
    TEAM_FILE_POSTAL = "team file postal code"
    CRM = "CRM"
    NONE = "none"  # the snapshot falls back to the centre of the rep's book, flagged


@dataclass(frozen=True)
class TeamMember:
    """A planned rep: its CRM row's identity, where it came from, and the facts it is planned with."""

    crm_id: str
    name: str
    email: str | None
    source: MemberSource
    home: Point | None
    home_source: HomeSource
    facts: RepFacts = field(default_factory=RepFacts)
    crm_time_zone: str | None = None
    problems: tuple[str, ...] = ()  # what is missing or could not be used, in words

    @property
    def time_zone(self) -> str:
        """The rep's zone: the team file's, else the CRM's; "" leaves it to the policy or the org."""
        return self.facts.time_zone or self.crm_time_zone or ""

    def rep(self, home: Point) -> Rep:
        """The planner's rep at `home`, with every fact the team file gives."""
        base = Rep(
            id=self.crm_id,
            home_lat=home[0],
            home_lon=home[1],
            name=self.name,
            time_zone=self.crm_time_zone or "",
        )
        return self.facts.apply(base)


@dataclass(frozen=True)
class MissingMember:
    """A team file row that names nobody this org can plan."""

    label: str  # the row's email or CRM id
    line: int
    why: str  # "not in the CRM", "inactive in the CRM"


@dataclass(frozen=True)
class FieldTeam:
    defined: bool
    rule: str | None  # the CRM rule in force, as set ("SALESFORCE_REP_FILTER: ...")
    team_file: Path | None
    members: tuple[TeamMember, ...]
    missing: tuple[MissingMember, ...] = ()
    notes: tuple[str, ...] = ()  # about the team as a whole (e.g. the hint when none is defined)

    @property
    def member_ids(self) -> frozenset[str]:
        return frozenset(m.crm_id for m in self.members)

    def member(self, crm_id: str) -> TeamMember | None:
        return next((m for m in self.members if m.crm_id == crm_id), None)

    def problems(self) -> list[RecordProblem]:
        """What a run reports about its team, by rep (missing members by their email)."""
        found = [RecordProblem(Stream.REPS, m.crm_id, p) for m in self.members for p in m.problems]
        for x in self.missing:
            found.append(RecordProblem(Stream.REPS, x.label[:64], f"team file line {x.line}: {x.why}"))
        return found


def team_rule(settings: Settings, kind: CRMKind) -> str | None:
    """The CRM's own rule for who is a rep, as configured for this kind of org (None: not set)."""
    if kind is CRMKind.SALESFORCE and settings.salesforce_rep_filter:
        return f"SALESFORCE_REP_FILTER: {settings.salesforce_rep_filter}"
    if kind is CRMKind.HUBSPOT and settings.hubspot_rep_team_names:
        return f"HUBSPOT_REP_TEAMS: {', '.join(settings.hubspot_rep_team_names)}"
    return None


def rule_setting(kind: CRMKind) -> str:
    return "SALESFORCE_REP_FILTER" if kind is CRMKind.SALESFORCE else "HUBSPOT_REP_TEAMS"


def team_defined(settings: Settings, kind: CRMKind) -> bool:
    return bool(settings.team_file) or team_rule(settings, kind) is not None


def no_team_hint(kind: CRMKind) -> str:
    return NO_TEAM_HINT.format(rule=rule_setting(kind))


def writes_refused(settings: Settings, org_id: str) -> str | None:
    """Why nothing may be written to this org (no field team defined), or None when writes may go."""
    from sync.crm import configured_orgs

    org = next((o for o in configured_orgs(settings) if o.id == org_id), None)
    if org is None or team_defined(settings, org.kind):
        return None
    return f"org {org_id}: {no_team_hint(org.kind)}"


def read_team_file(settings: Settings) -> TeamFile | None:
    """The configured team file, checked whole (a bad cell raises `TeamFileError`), or None."""
    return load_team_file(settings.team_file) if settings.team_file else None


def resolve_team(
    kind: CRMKind,
    settings: Settings,
    rep_rows: Sequence[RepRow],
    geocoder: Geocoder,
    team_file: TeamFile | None = None,
    elsewhere: Sequence[RepRow] = (),
) -> FieldTeam:
    """The org's field team from its rep rows, the team file (read if not given) and the CRM rule.

    One team file may list the reps of every configured CRM: a row that names a rep of
    another org (`elsewhere`) is not reported missing here.
    """
    team_file = team_file if team_file is not None else read_team_file(settings)
    rule = team_rule(settings, kind)
    live = [r for r in rep_rows if r.deleted_at is None]
    if team_file is None and rule is None:
        members = [_member(r, None, MemberSource.EVERY_ACTIVE_USER, geocoder) for r in live if r.active]
        return FieldTeam(
            False, None, None, tuple(sorted(members, key=lambda m: m.crm_id)), notes=(no_team_hint(kind),)
        )
    by_row: dict[str, TeamEntry] = {}
    missing: list[MissingMember] = []
    for entry in team_file.entries if team_file else ():
        row = _match(entry, live)
        if row is None and _match(entry, elsewhere) is not None:
            continue
        if row is None or not row.active:
            why = "not in the CRM" if row is None else "inactive in the CRM"
            missing.append(MissingMember(entry.label, entry.line, why))
        else:
            by_row[row.crm_id] = entry
    ruled = {r.crm_id for r in live if r.active and rule is not None and r.on_crm_team}
    members = [
        _member(r, by_row.get(r.crm_id), _source(r.crm_id in by_row, r.crm_id in ruled), geocoder)
        for r in live
        if r.crm_id in by_row or r.crm_id in ruled
    ]
    notes = []
    if rule is not None and all(r.on_crm_team is None for r in live):
        notes.append(f"{rule} is set but no pull has applied it yet: run `tsync pull` first")
    if not members:
        notes.append("the field team has no members in this org: nobody is planned")
    return FieldTeam(
        True,
        rule,
        team_file.path if team_file else None,
        tuple(sorted(members, key=lambda m: m.crm_id)),
        tuple(missing),
        tuple(notes),
    )


def _source(in_file: bool, by_rule: bool) -> MemberSource:
    if in_file and by_rule:
        return MemberSource.BOTH
    return MemberSource.TEAM_FILE if in_file else MemberSource.CRM_RULE


def _match(entry: TeamEntry, rows: Iterable[RepRow]) -> RepRow | None:
    """The rep row a team file row names (by CRM id, else by email); an active one before others."""
    found = [
        r
        for r in rows
        if (entry.crm_id is not None and r.crm_id == entry.crm_id)
        or (entry.email is not None and (r.email or "").strip().lower() == entry.email)
    ]
    return max(found, key=lambda r: (r.active, r.pulled_at), default=None)


def _member(row: RepRow, entry: TeamEntry | None, source: MemberSource, geocoder: Geocoder) -> TeamMember:
    facts = entry.facts if entry is not None else RepFacts()
    home, home_source, problems = _home(row, facts, geocoder)
    return TeamMember(
        crm_id=row.crm_id,
        name=row.name,
        email=row.email,
        source=source,
        home=home,
        home_source=home_source,
        facts=facts,
        crm_time_zone=row.time_zone,
        problems=tuple(problems),
    )


def _home(row: RepRow, facts: RepFacts, geocoder: Geocoder) -> tuple[Point | None, HomeSource, list[str]]:
    """Where the rep's days start: the team file's coordinates, its postal code, then the CRM's."""
    problems: list[str] = []
    if facts.home is not None:
        return facts.home, HomeSource.TEAM_FILE, problems
    if facts.home_postal_code:
        placed = geocoder.locate(facts.home_postal_code)
        if placed is not None:
            return placed, HomeSource.TEAM_FILE_POSTAL, problems
        problems.append(f"unknown postal code {facts.home_postal_code!r} in the team file")
    if row.home_lat is not None and row.home_lon is not None:
        return (row.home_lat, row.home_lon), HomeSource.CRM, problems
    problems.append("no home: the team file and the CRM give none")
    return None, HomeSource.NONE, problems


# --------------------------------------------------------------------------- the plan's words


@dataclass(frozen=True)
class NonMemberBooks:
    """Accounts whose CRM owner is active but not on the team: the planner sees them as unowned."""

    owners: Mapping[str, str] = field(default_factory=dict)  # account id -> its owner's id


def explain_team_moves(plan: TerritoryPlan, books: NonMemberBooks, names: Mapping[str, str]) -> TerritoryPlan:
    """The plan with each non-member's account moving *from* its owner, the reason naming both."""
    if not books.owners:
        return plan
    moves = []
    for move in plan.moves:
        owner = books.owners.get(move.account_id)
        if owner is None or move.from_rep is not None:
            moves.append(move)
            continue
        where = move.reason.removeprefix("had no rep; ")
        to = names.get(move.to_rep) or move.to_rep
        reason = f"{NOT_ON_TEAM} ({names.get(owner) or owner}): goes to {to}, {where}"
        moves.append(Move(move.account_id, owner, move.to_rep, reason))
    return dataclasses.replace(plan, moves=tuple(moves))


def load_field_team(
    org_id: str, kind: CRMKind, settings: Settings, geocoder: Geocoder, *, session: Session
) -> FieldTeam:
    """The org's field team as of the last pull (the team file read now)."""
    rows = session.exec(select(RepRow)).all()
    here = [r for r in rows if r.org_id == org_id]
    others = [r for r in rows if r.org_id != org_id and r.deleted_at is None]
    return resolve_team(kind, settings, here, geocoder, elsewhere=others)


def member_facts(member: TeamMember) -> dict[str, str]:
    """A member's facts as `tsync team` shows them (empty: the planner's default)."""
    f = member.facts
    days = "" if f.working_days is None else ";".join(WEEKDAY_NAMES[d] for d in sorted(f.working_days))
    hours = ""
    if f.day_start_minute is not None or f.day_end_minute is not None:
        hours = f"{hhmm(f.day_start_minute or 8 * 60)}-{hhmm(f.day_end_minute or 17 * 60)}"
    holidays = "-".join(p for p in (f.holidays_country, f.holidays_subdivision) if p)
    return {
        "home": "" if member.home is None else f"{member.home[0]:.4f}, {member.home[1]:.4f}",
        "home_source": member.home_source.value,
        "skills": ";".join(sorted(f.skills or ())),
        "target_share": "" if f.target_share is None else f"{f.target_share:g}",
        "overlay": "yes" if f.overlay else "",
        "working_days": days,
        "hours": hours,
        "days_off": "" if not f.days_off else f"{len(f.days_off)} day(s) from {min(f.days_off).isoformat()}",
        "time_zone": member.time_zone,
        "holidays": holidays,
    }


def team_document(team: FieldTeam) -> dict[str, Any]:
    """`tsync team --json`: the team as plain JSON types."""
    return {
        "defined": team.defined,
        "rule": team.rule,
        "team_file": str(team.team_file) if team.team_file else None,
        "members": [
            {
                "crm_id": m.crm_id,
                "name": m.name,
                "email": m.email,
                "source": m.source.value,
                **member_facts(m),
                "problems": list(m.problems),
            }
            for m in team.members
        ],
        "missing": [{"who": x.label, "line": x.line, "why": x.why} for x in team.missing],
        "notes": list(team.notes),
    }
