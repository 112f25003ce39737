"""The in-memory HubSpot portal behind the emulator: objects, properties, owners, associations.

`HubSpotOrg` holds companies, meetings and calls (CRM objects with string
properties), the property definitions of each object type, owners, and v4
associations. Every method is thread-safe (one re-entrant lock), so tests can
change the portal the way a person in HubSpot would while a client is paging
through it:

- `create(object_type, properties, *, at=None, associate_to=None) -> id`
- `update(object_type, object_id, properties, *, at=None)`: an edit in the UI;
  bumps `hs_lastmodifieddate` to `at` (default: now);
- `touch(object_type, object_ids, *, at)`: bump `hs_lastmodifieddate` only
  (e.g. 500 records sharing one timestamp);
- `archive(object_type, object_id, *, at=None)`: delete to the recycle bin
  (listed with `archived=true`);
- `purge(object_type, object_id)`: a GDPR delete, gone without trace;
- `merge(object_type, primary_id, merged_id, *, at=None)`: the merged record
  disappears and the primary lists it in `hs_merged_object_ids`;
- `properties_of(object_type, object_id)`, `count(object_type, archived=False)`,
  `ids(object_type)`, `find(object_type, prop, value)`,
  `associated_ids(from_type, object_id, to_type)`, `owner_ids()`.

The routes in `emulators/hubspot/app.py` use the same class; their
methods return plain dicts shaped like the API's JSON. Times are epoch
milliseconds internally and ISO-8601 UTC (`2024-05-01T09:30:00.000Z`) on the wire.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

OBJECT_TYPES: dict[str, str] = {
    # aliases (names, singular names, type ids) -> canonical name
    "companies": "companies",
    "company": "companies",
    "0-2": "companies",
    "meetings": "meetings",
    "meeting": "meetings",
    "0-47": "meetings",
    "calls": "calls",
    "call": "calls",
    "0-48": "calls",
    "deals": "deals",
    "deal": "deals",
    "0-3": "deals",
    "contacts": "contacts",
    "contact": "contacts",
    "0-1": "contacts",
    "tasks": "tasks",
    "task": "tasks",
    "0-27": "tasks",
}
TYPE_IDS = {
    "companies": "0-2", "meetings": "0-47", "calls": "0-48", "deals": "0-3", "contacts": "0-1",
    "tasks": "0-27",
}  # fmt: skip

# HUBSPOT_DEFINED association type ids, by (from, to).
ASSOCIATION_TYPE_IDS: dict[tuple[str, str], int] = {
    ("meetings", "companies"): 188,
    ("companies", "meetings"): 187,
    ("calls", "companies"): 182,
    ("companies", "calls"): 181,
    ("deals", "companies"): 341,
    ("companies", "deals"): 342,
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
    ("tasks", "companies"): 192,
    ("companies", "tasks"): 191,
}

# Properties every object type computes itself; writes to them are ignored.
COMPUTED = frozenset(
    {"hs_object_id", "hs_lastmodifieddate", "lastmodifieddate", "createdate", "hs_createdate"}
)
# Contacts name their modified time `lastmodifieddate`; every other object `hs_lastmodifieddate`.
MODIFIED_PROPERTIES = frozenset({"hs_lastmodifieddate", "lastmodifieddate"})
MAX_HISTORY_PAGE = 50  # records per page when propertiesWithHistory is asked for
# The property free-text search (`query`) matches, per object type.
PRIMARY_PROPERTY = {
    "companies": "name",
    "deals": "dealname",
    "meetings": "hs_meeting_title",
    "calls": "hs_call_title",
    "contacts": "email",
    "tasks": "hs_task_subject",
}
# HubSpot's default sales pipeline: stage id -> (label, closed, won).
DEAL_STAGES: dict[str, tuple[str, bool, bool]] = {
    "appointmentscheduled": ("Appointment Scheduled", False, False),
    "qualifiedtobuy": ("Qualified To Buy", False, False),
    "presentationscheduled": ("Presentation Scheduled", False, False),
    "decisionmakerboughtin": ("Decision Maker Bought-In", False, False),
    "contractsent": ("Contract Sent", False, False),
    "closedwon": ("Closed Won", True, True),
    "closedlost": ("Closed Lost", True, False),
}
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
)
SKILL_VALUES = ("Spanish", "Hazmat", "Medical devices")
TIER_VALUES = ("A", "B", "C")
PropertySet = Literal["custom", "standard"]


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as HubSpot writes datetimes: `2024-05-01T09:30:00.123Z`."""
    # time.gmtime and %-formatting: several times faster than datetime + strftime,
    # which matters when seeding hundreds of thousands of records.
    t = time.gmtime(ms // 1000)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ms % 1000,
    )  # fmt: skip


def to_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)


def parse_time_ms(value: str) -> int | None:
    """A datetime property value as epoch ms: digits are ms already, else ISO 8601."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return to_ms(dt)


@dataclass(frozen=True, slots=True)
class PropertyDef:
    name: str
    label: str
    type: str  # string | number | date | datetime | enumeration | bool
    field_type: str
    group_name: str
    hubspot_defined: bool = True
    has_unique_value: bool = False
    description: str = ""
    options: tuple[Mapping[str, Any], ...] = ()
    created_ms: int = 0
    read_only: bool = False  # a value only HubSpot sets (calculated), or the API user may not edit
    calculated: bool = False

    @property
    def read_only_value(self) -> bool:
        return self.read_only or self.name in COMPUTED

    def as_json(self) -> dict[str, Any]:
        stamp = iso_ms(self.created_ms)
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": [dict(o) for o in self.options],
            "displayOrder": -1,
            "calculated": self.calculated,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only_value,
            },
            "formField": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }


def _options(values: Iterable[str], labels: Mapping[str, str] | None = None) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"label": (labels or {}).get(v, v), "value": v, "displayOrder": i, "hidden": False}
        for i, v in enumerate(values)
    )


def _p(
    name: str,
    ptype: str = "string",
    *,
    custom: bool = False,
    group: str = "",
    options: Iterable[str] = (),
    field_type: str | None = None,
    calculated: bool = False,
    labels: Mapping[str, str] | None = None,
) -> PropertyDef:
    default_field_type = {
        "string": "text",
        "number": "number",
        "datetime": "date",
        "date": "date",
        "enumeration": "select",
        "bool": "booleancheckbox",
    }[ptype]
    return PropertyDef(
        name=name,
        label=name.replace("hs_", "").replace("_", " ").capitalize(),
        type=ptype,
        field_type=field_type or default_field_type,
        group_name=group or ("territory_sync" if custom else "companyinformation"),
        hubspot_defined=not custom,
        options=_options(options, labels),
        read_only=calculated,
        calculated=calculated,
    )


def default_properties(
    property_set: PropertySet = "custom", read_only: Iterable[str] = ()
) -> dict[str, dict[str, PropertyDef]]:
    """The properties of a portal before anyone runs territory-sync against it.

    `territory` (companies) and `territory_sync_visit_key` (meetings) are
    missing on purpose: the connector creates them. `property_set="standard"`
    leaves out the custom company properties (`tier`, `potential`, `effort`,
    `locked`, `latitude`, `longitude`, `required_skills`): a portal that only
    has HubSpot's own (`annualrevenue`, `hs_ideal_customer_profile`, ...).
    `read_only` names properties (`"companies.annualrevenue"`) whose values
    the API user may read but not write.
    """
    common = [
        _p("hs_object_id", "number"),
        _p("hs_lastmodifieddate", "datetime"),
        _p("hubspot_owner_id", "enumeration"),
        _p("hs_merged_object_ids", "enumeration"),
    ]
    companies = [
        *common,
        _p("name"),
        _p("domain"),
        _p("createdate", "datetime"),
        _p("zip"),
        _p("city"),
        _p("state"),
        _p("country"),
        _p("industry", "enumeration"),
        _p("annualrevenue", "number"),
        _p("numberofemployees", "number"),
        _p("hs_ideal_customer_profile", "enumeration", options=("tier_1", "tier_2", "tier_3")),
        _p("type", "enumeration", options=("PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER")),
        _p("tier", "enumeration", custom=True, options=TIER_VALUES),
        _p("potential", "number", custom=True),
        _p("effort", "number", custom=True),
        _p("locked", "bool", custom=True, options=("true", "false")),
        _p("latitude", "number", custom=True),
        _p("longitude", "number", custom=True),
        _p("required_skills", "enumeration", custom=True, options=SKILL_VALUES, field_type="checkbox"),
    ]
    deals = [
        *common,
        _p("dealname", group="dealinformation"),
        _p("amount", "number", group="dealinformation"),
        _p(
            "dealstage",
            "enumeration",
            group="dealinformation",
            options=DEAL_STAGES,
            labels={k: v[0] for k, v in DEAL_STAGES.items()},
        ),
        _p("pipeline", "enumeration", group="dealinformation", options=("default",)),
        _p("closedate", "datetime", group="dealinformation"),
        _p("createdate", "datetime", group="dealinformation"),
        _p("dealtype", "enumeration", group="dealinformation", options=("newbusiness", "existingbusiness")),
        _p("hs_is_closed", "bool", group="dealinformation", calculated=True),
        _p("hs_is_closed_won", "bool", group="dealinformation", calculated=True),
    ]
    meetings = [
        *common,
        _p("hs_createdate", "datetime", group="engagement"),
        _p("hs_timestamp", "datetime", group="engagement"),
        _p("hs_meeting_title", group="engagement"),
        _p("hs_meeting_body", group="engagement"),
        _p("hs_meeting_start_time", "datetime", group="engagement"),
        _p("hs_meeting_end_time", "datetime", group="engagement"),
        _p("hs_meeting_outcome", "enumeration", group="engagement"),
        _p("hs_meeting_location", group="engagement"),
    ]
    calls = [
        *common,
        _p("hs_createdate", "datetime", group="engagement"),
        _p("hs_timestamp", "datetime", group="engagement"),
        _p("hs_call_title", group="engagement"),
        _p("hs_call_body", group="engagement"),
        _p("hs_call_status", "enumeration", group="engagement"),
        _p("hs_call_direction", "enumeration", group="engagement"),
        _p("hs_call_duration", "number", group="engagement"),
    ]
    tasks = [
        *common,
        _p("hs_createdate", "datetime", group="taskinformation"),
        _p("hs_timestamp", "datetime", group="taskinformation"),
        _p("hs_task_subject", group="taskinformation"),
        _p("hs_task_body", group="taskinformation"),
        _p("hs_task_status", "enumeration", group="taskinformation",
           options=("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")),
        _p("hs_task_priority", "enumeration", group="taskinformation", options=("LOW", "MEDIUM", "HIGH")),
        _p("hs_task_type", "enumeration", group="taskinformation", options=("TODO", "CALL", "EMAIL")),
    ]
    if property_set == "standard":
        companies = [p for p in companies if p.hubspot_defined]
    locked = set(read_only)
    contacts = [
        _p("hs_object_id", "number"),
        _p("lastmodifieddate", "datetime", group="contactinformation"),
        _p("createdate", "datetime", group="contactinformation"),
        _p("hubspot_owner_id", "enumeration", group="contactinformation"),
        _p("hs_merged_object_ids", "enumeration", group="contactinformation"),
        replace(_p("email", group="contactinformation"), has_unique_value=True),
        _p("firstname", group="contactinformation"),
        _p("lastname", group="contactinformation"),
        _p("phone", group="contactinformation"),
        _p("jobtitle", group="contactinformation"),
        _p("company", group="contactinformation"),
        _p("lifecyclestage", "enumeration", group="contactinformation", options=LIFECYCLE_STAGES),
    ]
    by_type = {
        "companies": companies,
        "meetings": meetings,
        "calls": calls,
        "deals": deals,
        "contacts": contacts,
        "tasks": tasks,
    }
    return {
        t: {p.name: replace(p, read_only=True) if f"{t}.{p.name}" in locked else p for p in props}
        for t, props in by_type.items()
    }


DEFAULT_GROUPS = {
    "companies": ("companyinformation", "territory_sync"),
    "meetings": ("meetinginformation", "engagement"),
    "calls": ("callinformation", "engagement"),
    "deals": ("dealinformation",),
    "contacts": ("contactinformation",),
    "tasks": ("taskinformation",),
}


def property_group(name: str) -> dict[str, Any]:
    return {"name": name, "label": name.replace("_", " ").capitalize(), "displayOrder": -1, "archived": False}


DEFAULT_LIST_PROPERTIES = {
    "companies": ("name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    "meetings": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "calls": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "contacts": ("firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id"),
    "tasks": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id", "hs_task_subject"),
    "deals": (
        "dealname",
        "amount",
        "closedate",
        "pipeline",
        "dealstage",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
}


@dataclass(slots=True)
class StoredObject:
    id: str
    object_type: str
    properties: dict[str, str | None]
    created_ms: int
    modified_ms: int
    archived_ms: int | None = None
    # property -> its values, oldest first, as (value, epoch ms); None until something is edited
    history: dict[str, list[tuple[str | None, int]]] | None = None

    def value(self, name: str) -> str | None:
        if name == "hs_object_id":
            return self.id
        if name in MODIFIED_PROPERTIES:
            return iso_ms(self.modified_ms)
        if name in ("createdate", "hs_createdate"):
            return iso_ms(self.created_ms)
        return self.properties.get(name)

    def as_json(self, names: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "properties": {n: self.value(n) for n in names},
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.modified_ms),
            "archived": self.archived_ms is not None,
        }
        if self.archived_ms is not None:
            out["archivedAt"] = iso_ms(self.archived_ms)
        return out

    def remember(self, name: str, value: str | None, ms: int) -> None:
        """Keep a property's new value in its history (its value until now counts from creation)."""
        if self.history is None:
            self.history = {}
        past = self.history.setdefault(name, [(self.properties.get(name), self.created_ms)])
        past.append((value, ms))

    def history_json(self, names: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """`propertiesWithHistory`: each property's values, newest first."""
        out: dict[str, list[dict[str, Any]]] = {}
        for name in names:
            past = (self.history or {}).get(name) or [(self.value(name), self.created_ms)]
            out[name] = [
                {
                    "value": v,
                    "timestamp": iso_ms(ms),
                    "sourceType": "API",
                    "sourceId": None,
                    "updatedByUserId": None,
                }
                for v, ms in reversed(past)
                if v is not None or len(past) > 1
            ]
        return out


@dataclass(slots=True)
class Owner:
    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int
    archived: bool
    created_ms: int
    updated_ms: int
    teams: tuple[tuple[str, str], ...] = ()  # (team id, team name); the first is the primary team

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": self.user_id,
            "userIdIncludingInactive": self.user_id,
            "type": "PERSON",
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
            "archived": self.archived,
            "teams": [
                {"id": team_id, "name": name, "primary": k == 0}
                for k, (team_id, name) in enumerate(self.teams)
            ],
        }


class HubSpotError(Exception):
    """An API error the routes render as HubSpot's JSON error body."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.errors = errors
        self.context = context


@dataclass(slots=True)
class ObjectTable:
    """One object type: live and archived records, id order and a modified-time index."""

    live: dict[str, StoredObject] = field(default_factory=dict)
    archived: dict[str, StoredObject] = field(default_factory=dict)
    id_order: list[int] = field(default_factory=list)  # every id ever created, ascending
    by_modified: list[tuple[int, int]] = field(default_factory=list)  # (modified_ms, id), live
    unique: dict[str, dict[str, str]] = field(default_factory=dict)  # prop -> value -> id

    def index_add(self, obj: StoredObject) -> None:
        bisect.insort(self.by_modified, (obj.modified_ms, int(obj.id)))

    def index_remove(self, obj: StoredObject) -> None:
        key = (obj.modified_ms, int(obj.id))
        at = bisect.bisect_left(self.by_modified, key)
        if at < len(self.by_modified) and self.by_modified[at] == key:
            del self.by_modified[at]


class HubSpotOrg:
    """A HubSpot portal in memory. See the module docstring for the methods tests use."""

    def __init__(
        self,
        *,
        clock: Callable[[], int] | None = None,
        first_id: int = 1_000_001,
        properties: dict[str, dict[str, PropertyDef]] | None = None,
    ):
        self._lock = threading.RLock()
        self._clock = clock or (lambda: int(time.time() * 1000))
        self._next_id = first_id
        self.tables: dict[str, ObjectTable] = {t: ObjectTable() for t in TYPE_IDS}
        self.properties = properties if properties is not None else default_properties()
        self.team_ids: dict[str, str] = {}
        self.groups: dict[str, dict[str, dict[str, Any]]] = {
            t: {g: property_group(g) for g in groups} for t, groups in DEFAULT_GROUPS.items()
        }
        self.owners: dict[str, Owner] = {}
        # (type, id) -> to_type -> to_id -> association type ids
        self._assoc: dict[tuple[str, str], dict[str, dict[str, set[int]]]] = {}
        self.merged_into: dict[tuple[str, str], str] = {}

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def now_ms(self) -> int:
        return self._clock()

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    # ------------------------------------------------------------------ the human's API

    def create(
        self,
        object_type: str,
        properties: Mapping[str, str | None],
        *,
        at: datetime | None = None,
        associate_to: Iterable[tuple[str, str]] = (),
    ) -> str:
        """Create a record (as of `at`) and associate it to `(type, id)` pairs."""
        t = canonical_type(object_type)
        with self._lock:
            ms = to_ms(at) if at else self.now_ms()
            obj = self._insert(t, dict(properties), ms, ms)
            for to_type, to_id in associate_to:
                self.associate(t, obj.id, canonical_type(to_type), to_id)
            return obj.id

    def update(
        self,
        object_type: str,
        object_id: str,
        properties: Mapping[str, str | None],
        *,
        at: datetime | None = None,
    ) -> None:
        t = canonical_type(object_type)
        with self._lock:
            obj = self._live(t, object_id)
            self._write(obj, dict(properties), to_ms(at) if at else self.now_ms())

    def touch(self, object_type: str, object_ids: Iterable[str], *, at: datetime) -> None:
        """Set `hs_lastmodifieddate` of these records to exactly `at`."""
        t = canonical_type(object_type)
        with self._lock:
            for object_id in object_ids:
                self._set_modified(self._live(t, object_id), to_ms(at))

    def archive(self, object_type: str, object_id: str, *, at: datetime | None = None) -> None:
        t = canonical_type(object_type)
        with self._lock:
            self._archive(self._live(t, object_id), to_ms(at) if at else self.now_ms())

    def purge(self, object_type: str, object_id: str) -> None:
        """A GDPR delete: the record vanishes, archived list included."""
        t = canonical_type(object_type)
        with self._lock:
            table = self.tables[t]
            obj = table.live.pop(object_id, None)
            if obj is not None:
                table.index_remove(obj)
                self._drop_unique(table, obj)
            table.archived.pop(object_id, None)
            self._drop_associations(t, object_id)

    def merge(self, object_type: str, primary_id: str, merged_id: str, *, at: datetime | None = None) -> None:
        """Merge `merged_id` into `primary_id`, as the UI's "Merge" does."""
        t = canonical_type(object_type)
        with self._lock:
            primary = self._live(t, primary_id)
            merged = self._live(t, merged_id)
            ms = to_ms(at) if at else self.now_ms()
            table = self.tables[t]
            del table.live[merged_id]
            table.index_remove(merged)
            self._drop_unique(table, merged)
            for to_type, targets in list(self._assoc.get((t, merged_id), {}).items()):
                for to_id in list(targets):
                    self.associate(t, primary_id, to_type, to_id)
            self._drop_associations(t, merged_id)
            self.merged_into[(t, merged_id)] = primary_id
            previous = primary.properties.get("hs_merged_object_ids")
            ids = [*(previous.split(";") if previous else []), merged_id]
            self._write(primary, {"hs_merged_object_ids": ";".join(ids)}, ms)

    def properties_of(self, object_type: str, object_id: str) -> dict[str, str | None]:
        t = canonical_type(object_type)
        with self._lock:
            obj = self.tables[t].live.get(object_id) or self.tables[t].archived.get(object_id)
            if obj is None:
                raise KeyError(object_id)
            names = [*self.properties[t], *obj.properties]
            return {n: obj.value(n) for n in names}

    def count(self, object_type: str, *, archived: bool = False) -> int:
        table = self.tables[canonical_type(object_type)]
        with self._lock:
            return len(table.archived if archived else table.live)

    def ids(self, object_type: str) -> list[str]:
        table = self.tables[canonical_type(object_type)]
        with self._lock:
            return sorted(table.live, key=int)

    def find(self, object_type: str, prop: str, value: str) -> list[str]:
        table = self.tables[canonical_type(object_type)]
        with self._lock:
            return sorted((i for i, o in table.live.items() if o.value(prop) == value), key=int)

    def owner_ids(self, *, archived: bool = False) -> list[str]:
        with self._lock:
            return [o.id for o in self.owners.values() if o.archived == archived]

    def add_owner(
        self,
        email: str,
        first_name: str,
        last_name: str,
        *,
        archived: bool = False,
        teams: Iterable[str] = (),
    ) -> str:
        """Add an owner (a HubSpot user) in these teams, the first its primary team; returns its id."""
        with self._lock:
            owner_id = str(len(self.owners) + 71_000_001)
            ms = self.now_ms()
            team_refs = tuple(
                (self.team_ids.setdefault(t, str(6_100_001 + len(self.team_ids))), t) for t in teams
            )
            self.owners[owner_id] = Owner(
                id=owner_id,
                email=email,
                first_name=first_name,
                last_name=last_name,
                user_id=int(owner_id) + 9_000_000,
                archived=archived,
                created_ms=ms,
                updated_ms=ms,
                teams=team_refs,
            )
            return owner_id

    # ------------------------------------------------------------------ associations

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> int:
        """Add the default association in both directions; returns its type id."""
        type_id = ASSOCIATION_TYPE_IDS.get((from_type, to_type))
        back_id = ASSOCIATION_TYPE_IDS.get((to_type, from_type))
        if type_id is None or back_id is None:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"No default association exists between {from_type} and {to_type}",
            )
        with self._lock:
            self._live(from_type, from_id)
            self._live(to_type, to_id)
            fwd = self._assoc.setdefault((from_type, from_id), {}).setdefault(to_type, {})
            fwd.setdefault(to_id, set()).add(type_id)
            back = self._assoc.setdefault((to_type, to_id), {}).setdefault(from_type, {})
            back.setdefault(from_id, set()).add(back_id)
            return type_id

    def bulk_associate(self, from_type: str, to_type: str, pairs: Iterable[tuple[str, str]]) -> None:
        """Associate many `(from_id, to_id)` pairs of existing records (for seeding)."""
        type_id = ASSOCIATION_TYPE_IDS[(from_type, to_type)]
        back_id = ASSOCIATION_TYPE_IDS[(to_type, from_type)]
        with self._lock:
            for from_id, to_id in pairs:
                fwd = self._assoc.setdefault((from_type, from_id), {}).setdefault(to_type, {})
                fwd.setdefault(to_id, set()).add(type_id)
                back = self._assoc.setdefault((to_type, to_id), {}).setdefault(from_type, {})
                back.setdefault(from_id, set()).add(back_id)

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        with self._lock:
            self._assoc.get((from_type, from_id), {}).get(to_type, {}).pop(to_id, None)
            self._assoc.get((to_type, to_id), {}).get(from_type, {}).pop(from_id, None)

    def associated_ids(self, from_type: str, object_id: str, to_type: str) -> list[str]:
        f, t = canonical_type(from_type), canonical_type(to_type)
        with self._lock:
            return sorted(self._assoc.get((f, object_id), {}).get(t, {}), key=int)

    def associations(self, from_type: str, object_id: str, to_type: str) -> dict[str, set[int]]:
        with self._lock:
            found = self._assoc.get((from_type, object_id), {}).get(to_type, {})
            return {k: set(v) for k, v in found.items()}

    def _drop_associations(self, object_type: str, object_id: str) -> None:
        for to_type, targets in self._assoc.pop((object_type, object_id), {}).items():
            for to_id in targets:
                back = self._assoc.get((to_type, to_id), {}).get(object_type)
                if back is not None:
                    back.pop(object_id, None)

    def bulk_insert(self, object_type: str, rows: list[tuple[dict[str, str | None], int, int]]) -> list[str]:
        """Insert many `(properties, created_ms, modified_ms)` rows at once (for seeding).

        The rows' properties are taken as they are: no computed names, no copies.
        """
        t = canonical_type(object_type)
        with self._lock:
            table = self.tables[t]
            unique = self._unique_props(t)
            ids = []
            for properties, created, modified in rows:
                obj = StoredObject(self._new_id(), t, properties, created, modified)
                table.live[obj.id] = obj
                table.id_order.append(int(obj.id))
                table.by_modified.append((modified, int(obj.id)))
                if unique:
                    self._add_unique(table, t, obj)
                ids.append(obj.id)
            table.by_modified.sort()
            return ids

    # ------------------------------------------------------------------ internals

    def _live(self, object_type: str, object_id: str) -> StoredObject:
        obj = self.tables[object_type].live.get(str(object_id))
        if obj is None:
            raise HubSpotError(
                404,
                "OBJECT_NOT_FOUND",
                "Object not found.  objectId are usually numeric.",
                context={"id": [str(object_id)]},
            )
        return obj

    def _insert(
        self, object_type: str, properties: dict[str, str | None], created: int, modified: int
    ) -> StoredObject:
        table = self.tables[object_type]
        self._check_unique(object_type, properties, None)
        obj = StoredObject(
            id=self._new_id(),
            object_type=object_type,
            properties={k: v for k, v in properties.items() if k not in COMPUTED},
            created_ms=created,
            modified_ms=modified,
        )
        derive_properties(obj)
        table.live[obj.id] = obj
        table.id_order.append(int(obj.id))
        table.index_add(obj)
        self._add_unique(table, object_type, obj)
        return obj

    def _write(self, obj: StoredObject, properties: dict[str, str | None], ms: int) -> None:
        self._check_unique(obj.object_type, properties, obj.id)
        table = self.tables[obj.object_type]
        self._drop_unique(table, obj)
        for k, v in properties.items():
            if k not in COMPUTED:
                if obj.properties.get(k) != v:
                    obj.remember(k, v, ms)
                obj.properties[k] = v
        derive_properties(obj)
        self._add_unique(table, obj.object_type, obj)
        self._set_modified(obj, ms)

    def _set_modified(self, obj: StoredObject, ms: int) -> None:
        table = self.tables[obj.object_type]
        if obj.id in table.live:
            table.index_remove(obj)
            obj.modified_ms = ms
            table.index_add(obj)
        else:
            obj.modified_ms = ms

    def _archive(self, obj: StoredObject, ms: int) -> None:
        table = self.tables[obj.object_type]
        del table.live[obj.id]
        table.index_remove(obj)
        self._drop_unique(table, obj)
        obj.archived_ms = ms
        obj.modified_ms = ms
        table.archived[obj.id] = obj

    def _unique_props(self, object_type: str) -> list[str]:
        return [p.name for p in self.properties[object_type].values() if p.has_unique_value]

    def _check_unique(
        self, object_type: str, properties: Mapping[str, str | None], own_id: str | None
    ) -> None:
        table = self.tables[object_type]
        for name in self._unique_props(object_type):
            value = properties.get(name)
            if value in (None, ""):
                continue
            holder = table.unique.get(name, {}).get(str(value))
            if holder is not None and holder != own_id:
                raise HubSpotError(
                    409,
                    "CONFLICT",
                    f"A {object_type[:-1]} with {name}={value} already exists. Existing ID: {holder}",
                    context={"id": [holder]},
                )

    def _add_unique(self, table: ObjectTable, object_type: str, obj: StoredObject) -> None:
        for name in self._unique_props(object_type):
            value = obj.properties.get(name)
            if value not in (None, ""):
                table.unique.setdefault(name, {})[str(value)] = obj.id

    def _drop_unique(self, table: ObjectTable, obj: StoredObject) -> None:
        for name, index in table.unique.items():
            value = obj.properties.get(name)
            if value is not None and index.get(str(value)) == obj.id:
                del index[str(value)]


def derive_properties(obj: StoredObject) -> None:
    """Set the values HubSpot calculates from others (a deal's closed and won flags)."""
    if obj.object_type == "deals":
        _, closed, won = DEAL_STAGES.get(obj.properties.get("dealstage") or "", ("", False, False))
        obj.properties["hs_is_closed"] = "true" if closed else "false"
        obj.properties["hs_is_closed_won"] = "true" if won else "false"


# Object types HubSpot has that this portal's private app holds no scope for (403, as HubSpot answers).
UNSCOPED_TYPES = frozenset(
    {
        "tickets", "ticket", "0-5", "products", "product", "0-7", "line_items", "line_item", "0-8",
        "quotes", "quote", "0-14", "notes", "note", "0-46", "emails", "email",
        "0-49", "communications", "communication", "0-18", "postal_mail", "0-116", "goal_targets",
        "goals", "0-74", "leads", "lead", "0-136", "feedback_submissions", "0-19", "invoices", "0-53",
    }
)  # fmt: skip


def canonical_type(object_type: str) -> str:
    found = OBJECT_TYPES.get(object_type.lower())
    if found is None:
        if object_type.lower() in UNSCOPED_TYPES:
            raise HubSpotError(
                403,
                "MISSING_SCOPES",
                "This app hasn't been granted all required scopes to make this call. Read more about "
                "required scopes here: https://developers.hubspot.com/scopes.",
                errors=[
                    {
                        "message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": [f"crm.objects.{object_type.lower()}.read"]},
                    }
                ],
            )
        raise HubSpotError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {object_type}")
    return found
