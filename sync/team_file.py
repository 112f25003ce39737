"""`TEAM_FILE`: the field team as ops keep it in version control, one CSV row per field rep.

Keyed by `email` (or `crm_id`); every other column is optional and parsed
exactly as `tsync plan-file` parses a reps CSV (`planfile.rep_facts`). The
file is read whole before anything runs: a bad cell is a `TeamFileError`
naming the file, line, column and value, and the run does not start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sync.planfile import PlanFileError, _Cell, _cell, _rows, rep_facts
from sync.rep_facts import RepFacts
from sync.settings import SettingsError

TEAM_FILE_COLUMNS = (
    "email", "crm_id", "home_postal_code", "home_lat", "home_lon", "skills", "target_share", "overlay",
    "working_days", "day_start", "day_end", "days_off", "time_zone", "holidays_country",
    "holidays_subdivision",
)  # fmt: skip


class TeamFileError(SettingsError):
    """The team file cannot be used as it is; the message locates the cell (one line)."""


@dataclass(frozen=True)
class TeamEntry:
    """One row of the team file: who (by email or CRM id) and what it says about them."""

    line: int
    email: str | None  # lower-cased
    crm_id: str | None
    facts: RepFacts

    @property
    def label(self) -> str:
        """How reports name the row's rep: its email, else its CRM id."""
        return self.email or self.crm_id or f"line {self.line}"


@dataclass(frozen=True)
class TeamFile:
    path: Path
    entries: tuple[TeamEntry, ...]


def load_team_file(path: Path | str) -> TeamFile:
    """Every row of the file, checked; raises `TeamFileError` at the first bad cell."""
    path = Path(path)
    try:
        return TeamFile(path, tuple(_entries(path)))
    except PlanFileError as exc:
        raise TeamFileError(f"TEAM_FILE {path}: {_where(exc)}") from None


def _where(exc: PlanFileError) -> str:
    """The reader's message without its leading file name (the caller names the whole path)."""
    text = str(exc)
    return text.removeprefix(f"{exc.path.name}, ").removeprefix(f"{exc.path.name}: ")


def _entries(path: Path) -> list[TeamEntry]:
    entries: list[TeamEntry] = []
    seen: dict[str, int] = {}
    header_checked = False
    for line, row in _rows(path, ()):
        if not header_checked:
            _check_header(path, row)
            header_checked = True

        def cell(column: str, line: int = line, row: dict[str, str] = row) -> _Cell:
            return _cell(path, line, row, column)

        email, crm_id = cell("email").text.lower() or None, cell("crm_id").text or None
        if email is None and crm_id is None:
            raise cell("email").fail("every row needs an email or a crm_id")
        if email is not None and "@" not in email:
            raise cell("email").fail(f"{cell('email').text!r} is not an email address")
        for key, column in ((email, "email"), (crm_id, "crm_id")):
            if key is not None and key in seen:
                raise cell(column).fail(f"{key!r} is already on line {seen[key]}")
            if key is not None:
                seen[key] = line
        entries.append(TeamEntry(line, email, crm_id, rep_facts(cell)))
    return entries


def _check_header(path: Path, row: dict[str, str]) -> None:
    """Unknown columns are refused: a misspelt column would otherwise be silently ignored."""
    unknown = [c for c in row if c and c not in TEAM_FILE_COLUMNS]
    if unknown:
        known = ", ".join(TEAM_FILE_COLUMNS)
        raise PlanFileError(path, 1, unknown[0], f"unknown column (the columns are {known})")
    if "email" not in row and "crm_id" not in row:
        raise PlanFileError(path, 1, None, "the header needs an email or a crm_id column")
