"""The field map file (FIELD_MAP): where each planner attribute lives in this org, and in a spreadsheet.

A TOML file with up to three sections, each optional: `[salesforce]` and
`[hubspot]` name the account fields (a section given is the whole map of that
CRM: an attribute it does not name, or names as "", has no field and takes the
planner's default); `[csv]` names the columns `tsync plan-file` reads, so a
CRM report export plans as it was downloaded. `[<section>.tier_values]`
translates tier values (Hot = "A"). Unknown keys are refused, with the file
and the key in one line. No file, or no section: territory-sync's own custom
fields (Tier__c, Potential__c, ...; tier, potential, ...) and column names.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from connectors.base import CRMKind, FieldMap
from sync.settings import SettingsError

VISIT_KEY_FIELD = "Visit_Key__c"  # the Salesforce default, as connectors.salesforce.records names it


class FieldMapFileError(SettingsError):
    """The field map file cannot be read or says something we do not understand (one line)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CRMFields(_Strict):
    """One CRM's account fields (names as the API spells them); "" or absent: the org has none."""

    tier: str | None = None
    tier_values: dict[str, str] = {}
    potential: str | None = None
    effort: str | None = None
    locked: str | None = None
    skills: str | None = None
    visit_windows: str | None = None
    territory: str | None = None
    # Salesforce only: the Event external id of our visits; absent: Visit_Key__c, "": write no visits
    visit_key: str | None = None

    @field_validator("tier", "potential", "effort", "locked", "skills", "visit_windows", "territory")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    def field_map(self, kind: CRMKind) -> FieldMap:
        visit_key = None
        if kind is CRMKind.SALESFORCE:
            visit_key = VISIT_KEY_FIELD if self.visit_key is None else (self.visit_key.strip() or None)
        return FieldMap(
            tier=self.tier,
            potential=self.potential,
            effort=self.effort,
            locked=self.locked,
            territory=self.territory,
            skills=self.skills,
            visit_windows=self.visit_windows,
            tier_values=dict(self.tier_values),
            visit_key=visit_key,
        )


class CSVColumns(_Strict):
    """The column of each account attribute in `tsync plan-file`'s accounts CSV (case-insensitive).

    `owner` holds the current rep, by the reps file's id or (`owner_by = "name"`) by its name, as
    a Salesforce report's "Account Owner" does; `postal_code` places rows without coordinates.
    """

    id: str = "id"
    name: str = "name"
    lat: str = "lat"
    lon: str = "lon"
    postal_code: str = "postal_code"
    country: str = "country"
    tier: str = "tier"
    tier_values: dict[str, str] = {}
    potential: str = "potential"
    effort: str = "effort"
    owner: str = "current_rep"
    owner_by: Literal["id", "name"] = "id"
    locked: str = "locked"
    skills: str = "skills"
    visit_windows: str = "visit_windows"
    address: str = "address"


class FieldMapFile(_Strict):
    salesforce: CRMFields | None = None
    hubspot: CRMFields | None = None
    csv: CSVColumns = CSVColumns()

    def for_crm(self, kind: CRMKind) -> FieldMap:
        """The map of one CRM: its section, or the default custom fields."""
        section = self.salesforce if kind is CRMKind.SALESFORCE else self.hubspot
        if section is not None:
            return section.field_map(kind)
        if kind is CRMKind.SALESFORCE:  # imported here: a CRM's package loads its SDK
            from connectors.salesforce.streams import DEFAULT_FIELD_MAP as SALESFORCE_DEFAULT

            return SALESFORCE_DEFAULT
        from connectors.hubspot.streams import DEFAULT_FIELD_MAP as HUBSPOT_DEFAULT

        return HUBSPOT_DEFAULT


def parse_field_map(text: str, source: str) -> FieldMapFile:
    """The field map in TOML `text`; `source` (a file name) starts the one-line error."""
    try:
        return FieldMapFile.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise FieldMapFileError(f"field map {source}: not TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        said = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        more = len(exc.errors()) - 1
        also = f" (and {more} more)" if more else ""
        raise FieldMapFileError(f"field map {source}: {where}: {said}{also}") from None


def load_field_map(path: str | Path | None) -> FieldMapFile:
    """The field map file at `path`; None gives the defaults."""
    if path is None:
        return FieldMapFile()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise FieldMapFileError(f"field map {file}: cannot open: {exc.strerror}") from None
    return parse_field_map(text, file.name)
