"""The sObjects, fields and id formats the Salesforce emulator knows.

Each `ObjectSpec` lists its fields the way `describe` reports them (type,
createable/updateable, external id, lookups) plus the rules the emulator
enforces on writes (required fields, uniqueness, whether deletes go to the
recycle bin). Field lookups are case-insensitive, as in Salesforce.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id18(id15: str) -> str:
    """Add Salesforce's case-safe 3-character suffix to a 15-character id."""
    if len(id15) != 15:
        return id15
    suffix = ""
    for start in (0, 5, 10):
        flags = sum(1 << j for j, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        suffix += _SUFFIX_CHARS[flags]
    return id15 + suffix


def make_id(prefix: str, counter: int) -> str:
    """An 18-character id: key prefix, an org-ish pod marker, a base-62 counter, the suffix.

    Ids of one object sort in creation order, as `ORDER BY Id` expects.
    """
    digits = ""
    n = counter
    while True:
        n, r = divmod(n, 62)
        digits = _BASE62[r] + digits
        if n == 0:
            break
    return id18(prefix + "Dn" + digits.rjust(10, "0"))


def make_ids(prefix: str, first: int, count: int) -> list[str]:
    """`make_id(prefix, first + i)` for i in range(count), vectorised for seeding big orgs."""
    if count <= 0:
        return []
    if first + count >= 62**5:
        return [make_id(prefix, first + i) for i in range(count)]
    counters = np.arange(first, first + count, dtype=np.int64)
    digits = np.stack([(counters // 62**k) % 62 for k in range(4, -1, -1)], axis=1)
    chars = np.array(list(_BASE62), dtype="<U1")[digits]
    tails = np.ascontiguousarray(chars).view("<U5").ravel().tolist()
    upper = ((digits >= 10) & (digits < 36)).astype(np.int64)
    flags = (upper * (1 << np.arange(5, dtype=np.int64))).sum(axis=1).tolist()
    # The first two 5-character chunks are the same for every id of this prefix.
    head = prefix + "Dn" + "00000"
    head_suffix = id18(head + "00000")[15:17]
    return [
        f"{head}{tail}{head_suffix}{_SUFFIX_CHARS[flag]}" for tail, flag in zip(tails, flags, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: str  # id reference string textarea picklist email datetime date boolean double currency int
    label: str = ""
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    external_id: bool = False
    unique: bool = False
    custom: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist: tuple[str, ...] = ()
    length: int = 0

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label or self.name,
            "length": self.length,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": not self.createable and self.type != "id",
            "externalId": self.external_id,
            "unique": self.unique,
            "custom": self.custom,
            "calculated": False,
            "idLookup": self.type == "id" or self.external_id,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "picklistValues": [
                {"value": v, "label": v, "active": True, "defaultValue": False} for v in self.picklist
            ],
        }


@dataclass(slots=True)
class ObjectSpec:
    name: str
    label: str
    key_prefix: str
    fields_list: list[FieldSpec]
    required: tuple[str, ...] = ()
    has_recycle_bin: bool = True  # False: deletes are immediate (territory associations)
    updateable: bool = True
    fields: dict[str, FieldSpec] = field(default_factory=dict)  # lower-case name -> spec
    relationships: dict[str, FieldSpec] = field(default_factory=dict)  # lower-case rel -> spec

    def __post_init__(self) -> None:
        self.fields = {f.name.lower(): f for f in self.fields_list}
        self.relationships = {f.relationship_name.lower(): f for f in self.fields_list if f.relationship_name}

    def field(self, name: str) -> FieldSpec | None:
        return self.fields.get(name.lower())

    def describe(self, version: str) -> dict[str, object]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label + "s",
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": True,
            "updateable": self.updateable,
            "deletable": True,
            "queryable": True,
            "replicateable": True,
            "fields": [f.describe() for f in self.fields_list],
            "childRelationships": [],
            "recordTypeInfos": [],
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }

    def summary(self, version: str) -> dict[str, object]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "keyPrefix": self.key_prefix,
            "custom": False,
            "queryable": True,
            "createable": True,
            "updateable": self.updateable,
            "deletable": True,
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
        }


def _system(has_is_deleted: bool = True) -> list[FieldSpec]:
    out = [
        FieldSpec("Id", "id", "Record ID", createable=False, updateable=False, nillable=False),
        FieldSpec("CreatedDate", "datetime", createable=False, updateable=False, nillable=False),
        FieldSpec("LastModifiedDate", "datetime", createable=False, updateable=False, nillable=False),
        FieldSpec("SystemModstamp", "datetime", createable=False, updateable=False, nillable=False),
    ]
    if has_is_deleted:
        out.append(FieldSpec("IsDeleted", "boolean", createable=False, updateable=False, nillable=False))
    return out


def _s(name: str, length: int = 255, **kw: object) -> FieldSpec:
    return FieldSpec(name, "string", length=length, **kw)  # type: ignore[arg-type]


def _ref(name: str, to: Iterable[str], rel: str, **kw: object) -> FieldSpec:
    return FieldSpec(name, "reference", length=18, reference_to=tuple(to), relationship_name=rel, **kw)  # type: ignore[arg-type]


INDUSTRY_VALUES = (
    "Agriculture", "Construction", "Education", "Financial Services", "Healthcare",
    "Hospitality", "Logistics", "Manufacturing", "Retail", "Technology", "Other",
)  # fmt: skip

_ACTIVITY_COMMON = [
    _ref("WhatId", ("Account",), "What"),
    _ref("OwnerId", ("User",), "Owner"),
    _s("Subject"),
    FieldSpec("Description", "textarea", length=32000),
    _s("Visit_Key__c", 80, external_id=True, unique=True, custom=True, label="Visit Key"),
]

OBJECTS: dict[str, ObjectSpec] = {
    spec.name.lower(): spec
    for spec in [
        ObjectSpec(
            "Account",
            "Account",
            "001",
            [
                *_system(),
                _s("Name", nillable=False),
                FieldSpec("BillingLatitude", "double"),
                FieldSpec("BillingLongitude", "double"),
                _s("BillingPostalCode", 20),
                _s("BillingCity", 40),
                _s("BillingState", 80),
                _s("BillingCountry", 80),
                FieldSpec("Industry", "picklist", picklist=INDUSTRY_VALUES, length=255),
                _ref("OwnerId", ("User",), "Owner", nillable=False),
                _ref("MasterRecordId", ("Account",), "MasterRecord", createable=False, updateable=False),
                _s("Tier__c", 20, custom=True, label="Tier"),
                FieldSpec("Potential__c", "currency", custom=True, label="Potential"),
                FieldSpec("Effort__c", "double", custom=True, label="Effort"),
                _s("Territory__c", 80, custom=True, label="Territory"),
                FieldSpec("Locked__c", "boolean", custom=True, label="Locked", nillable=False),
            ],
            required=("Name",),
        ),
        ObjectSpec(
            "User",
            "User",
            "005",
            [
                *_system(has_is_deleted=False),
                _s("Name", 121, createable=False, updateable=False),
                _s("FirstName", 40),
                _s("LastName", 80, nillable=False),
                FieldSpec("Email", "email", length=128, nillable=False),
                _s("Username", 80, nillable=False, unique=True),
                FieldSpec("IsActive", "boolean", nillable=False),
                FieldSpec("Latitude", "double"),
                FieldSpec("Longitude", "double"),
                _s("PostalCode", 20),
                _s("City", 40),
                _s("State", 80),
            ],
            required=("LastName", "Email", "Username"),
        ),
        ObjectSpec(
            "Event",
            "Event",
            "00U",
            [
                *_system(),
                *_ACTIVITY_COMMON,
                FieldSpec("StartDateTime", "datetime"),
                FieldSpec("EndDateTime", "datetime"),
                FieldSpec("ActivityDateTime", "datetime"),
                FieldSpec("ActivityDate", "date"),
                FieldSpec("DurationInMinutes", "int"),
                FieldSpec("IsAllDayEvent", "boolean", nillable=False),
                _s("Location"),
            ],
        ),
        ObjectSpec(
            "Task",
            "Task",
            "00T",
            [
                *_system(),
                *_ACTIVITY_COMMON,
                FieldSpec("ActivityDate", "date"),
                FieldSpec(
                    "Status",
                    "picklist",
                    picklist=(
                        "Not Started",
                        "In Progress",
                        "Completed",
                        "Waiting on someone else",
                        "Deferred",
                    ),
                    nillable=False,
                ),
                FieldSpec("Priority", "picklist", picklist=("High", "Normal", "Low"), nillable=False),
                FieldSpec("IsClosed", "boolean", createable=False, updateable=False, nillable=False),
                FieldSpec("TaskSubtype", "picklist", picklist=("Task", "Email", "Call"), updateable=False),
            ],
        ),
        ObjectSpec(
            "Territory2Model",
            "Territory Model",
            "0MA",
            [
                *_system(),
                _s("Name", 80, nillable=False),
                _s("DeveloperName", 80, nillable=False, unique=True),
                FieldSpec("Description", "textarea", length=1000),
                FieldSpec(
                    "State",
                    "picklist",
                    picklist=("Planning", "Active", "Archived", "Cloning", "Activating"),
                    createable=False,
                    updateable=False,
                    nillable=False,
                ),
                FieldSpec("ActivatedDate", "datetime", createable=False, updateable=False),
                FieldSpec("DeactivatedDate", "datetime", createable=False, updateable=False),
            ],
            required=("Name", "DeveloperName"),
        ),
        ObjectSpec(
            "Territory2Type",
            "Territory Type",
            "0M5",
            [
                *_system(has_is_deleted=False),
                _s("DeveloperName", 80, nillable=False, unique=True),
                _s("MasterLabel", 80, nillable=False),
                FieldSpec("Priority", "int", nillable=False),
                FieldSpec("Description", "textarea", length=1000),
            ],
            required=("DeveloperName", "MasterLabel", "Priority"),
        ),
        ObjectSpec(
            "Territory2",
            "Territory",
            "0MI",
            [
                *_system(),
                _s("Name", 80, nillable=False),
                _s("DeveloperName", 80, nillable=False),
                _ref("Territory2ModelId", ("Territory2Model",), "Territory2Model", nillable=False),
                _ref("Territory2TypeId", ("Territory2Type",), "Territory2Type", nillable=False),
                _ref("ParentTerritory2Id", ("Territory2",), "ParentTerritory2"),
                _ref("ForecastUserId", ("User",), "ForecastUser"),
                FieldSpec("Description", "textarea", length=1000),
                FieldSpec("AccountAccessLevel", "picklist", picklist=("Read", "Edit", "All")),
                FieldSpec("OpportunityAccessLevel", "picklist", picklist=("None", "Read", "Edit")),
                FieldSpec("CaseAccessLevel", "picklist", picklist=("None", "Read", "Edit")),
                FieldSpec("ContactAccessLevel", "picklist", picklist=("None", "Read", "Edit")),
            ],
            required=("Name", "DeveloperName", "Territory2ModelId", "Territory2TypeId"),
        ),
        ObjectSpec(
            "UserTerritory2Association",
            "User Territory Association",
            "0R0",
            [
                *_system(has_is_deleted=False),
                _ref("UserId", ("User",), "User", nillable=False, updateable=False),
                _ref("Territory2Id", ("Territory2",), "Territory2", nillable=False, updateable=False),
                FieldSpec(
                    "RoleInTerritory2",
                    "picklist",
                    picklist=("Owner", "Administrator", "Sales Rep"),
                    updateable=False,
                ),
                FieldSpec("IsActive", "boolean", createable=False, updateable=False, nillable=False),
            ],
            required=("UserId", "Territory2Id"),
            has_recycle_bin=False,
            updateable=False,
        ),
        ObjectSpec(
            "ObjectTerritory2Association",
            "Object Territory Association",
            "0R1",
            [
                *_system(),
                _ref("ObjectId", ("Account",), "Object", nillable=False, updateable=False),
                _ref("Territory2Id", ("Territory2",), "Territory2", nillable=False, updateable=False),
                FieldSpec(
                    "AssociationCause",
                    "picklist",
                    picklist=("Territory2Manual", "Territory2AssignmentRule", "Territory2Api"),
                    nillable=False,
                    updateable=False,
                ),
                _s("SobjectType", 40, createable=False, updateable=False),
            ],
            required=("ObjectId", "Territory2Id", "AssociationCause"),
            has_recycle_bin=False,
            updateable=False,
        ),
    ]
}

PREFIX_TO_OBJECT: dict[str, str] = {spec.key_prefix: spec.name for spec in OBJECTS.values()}


def object_spec(name: str) -> ObjectSpec | None:
    return OBJECTS.get(name.lower())
