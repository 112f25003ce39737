"""The sObjects, fields and id formats the Salesforce emulator knows.

Each `ObjectSpec` lists its fields the way `describe` reports them (type,
createable/updateable, external id, lookups) plus the rules the emulator
enforces on writes (required fields, uniqueness, whether deletes go to the
recycle bin). Field lookups are case-insensitive, as in Salesforce.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from emulators.seed.model import SKILLS

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
    # id reference string textarea picklist multipicklist email datetime date boolean
    # double currency percent int
    type: str
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
    compound: str | None = None  # the compound (address) field this one is a part of
    child_name: str | None = None  # the parent's name for the records that point at it (e.g. Contacts)

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
            "compoundFieldName": self.compound,
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
    addresses: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fields = {f.name.lower(): f for f in self.fields_list}
        # compound address field -> the prefix of its parts (BillingAddress -> Billing)
        self.addresses = {f.name: f.name[: -len("Address")] for f in self.fields_list if f.type == "address"}
        self.relationships = {f.relationship_name.lower(): f for f in self.fields_list if f.relationship_name}

    def field(self, name: str) -> FieldSpec | None:
        return self.fields.get(name.lower())

    def describe(self, version: str, children: list[dict[str, object]] | None = None) -> dict[str, object]:
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
            "childRelationships": children or [],
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


def _address(prefix: str) -> list[FieldSpec]:
    """The parts of a compound address and the compound itself (`BillingAddress`, or a User's `Address`)."""
    compound = f"{prefix}Address"
    parts = [
        _s(f"{prefix}Street", 255, compound=compound),
        _s(f"{prefix}City", 40, compound=compound),
        _s(f"{prefix}State", 80, compound=compound),
        _s(f"{prefix}PostalCode", 20, compound=compound),
        _s(f"{prefix}Country", 80, compound=compound),
        FieldSpec(f"{prefix}Latitude", "double", compound=compound),
        FieldSpec(f"{prefix}Longitude", "double", compound=compound),
    ]
    return [*parts, FieldSpec(compound, "address", createable=False, updateable=False)]


# The keys of a compound address value, and the suffix of the field each comes from.
ADDRESS_PARTS = {
    "street": "Street",
    "city": "City",
    "state": "State",
    "postalCode": "PostalCode",
    "country": "Country",
    "latitude": "Latitude",
    "longitude": "Longitude",
}


def _ref(name: str, to: Iterable[str], rel: str, **kw: object) -> FieldSpec:
    return FieldSpec(name, "reference", length=18, reference_to=tuple(to), relationship_name=rel, **kw)  # type: ignore[arg-type]


INDUSTRY_VALUES = (
    "Agriculture", "Construction", "Education", "Financial Services", "Healthcare",
    "Hospitality", "Logistics", "Manufacturing", "Retail", "Technology", "Other",
)  # fmt: skip

RATING_VALUES = ("Hot", "Warm", "Cold")
ACCOUNT_TYPES = ("Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other")
# Salesforce's default stages, with the probability each one defaults to.
STAGE_PROBABILITY: dict[str, float] = {
    "Prospecting": 10.0,
    "Qualification": 10.0,
    "Needs Analysis": 20.0,
    "Value Proposition": 50.0,
    "Proposal/Price Quote": 75.0,
    "Negotiation/Review": 90.0,
    "Closed Won": 100.0,
    "Closed Lost": 0.0,
}
OPPORTUNITY_STAGES = tuple(STAGE_PROBABILITY)
OPPORTUNITY_TYPES = ("New Customer", "Existing Customer - Upgrade", "Existing Customer - Renewal")

_ACTIVITY_COMMON = [
    _ref("WhatId", ("Account", "Opportunity"), "What"),
    _ref("OwnerId", ("User",), "Owner"),
    _s("Subject"),
    FieldSpec("Description", "textarea", length=32000),
    _s("Visit_Key__c", 80, external_id=True, unique=True, custom=True, label="Visit Key"),
]

SchemaKind = Literal["custom", "standard"]
FieldAccess = Literal["read", "hidden"]
TIME_ZONES = (
    "America/New_York", "America/Detroit", "America/Indiana/Indianapolis", "America/Kentucky/Louisville",
    "America/Chicago", "America/Denver", "America/Boise", "America/Phoenix", "America/Los_Angeles",
)  # fmt: skip


def _all_objects() -> list[ObjectSpec]:
    """Every object, with territory-sync's custom fields (the `custom` schema)."""
    return [
        ObjectSpec(
            "Account",
            "Account",
            "001",
            [
                *_system(),
                _s("Name", nillable=False),
                *_address("Billing"),
                FieldSpec("Industry", "picklist", picklist=INDUSTRY_VALUES, length=255),
                _ref("OwnerId", ("User",), "Owner", nillable=False),
                _ref("MasterRecordId", ("Account",), "MasterRecord", createable=False, updateable=False),
                _s("Tier__c", 20, custom=True, label="Tier"),
                FieldSpec("Potential__c", "currency", custom=True, label="Potential"),
                FieldSpec("Effort__c", "double", custom=True, label="Effort"),
                _s("Territory__c", 80, custom=True, label="Territory"),
                FieldSpec("Locked__c", "boolean", custom=True, label="Locked", nillable=False),
                FieldSpec(
                    "Required_Skills__c",
                    "multipicklist",
                    custom=True,
                    label="Required Skills",
                    picklist=SKILLS,
                    length=4099,
                ),
                FieldSpec("Visit_Windows__c", "string", custom=True, label="Visit Windows", length=255),
                FieldSpec("Rating", "picklist", picklist=RATING_VALUES, length=255),
                FieldSpec("AnnualRevenue", "currency", label="Annual Revenue"),
                FieldSpec("NumberOfEmployees", "int", label="Employees"),
                FieldSpec("Type", "picklist", picklist=ACCOUNT_TYPES, label="Account Type", length=255),
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
                *_address(""),
                _s("Title", 80),
                _ref("ProfileId", ("Profile",), "Profile"),
                _ref("UserRoleId", ("UserRole",), "UserRole"),
                FieldSpec("TimeZoneSidKey", "picklist", picklist=TIME_ZONES, label="Time Zone", length=40),
            ],
            required=("LastName", "Email", "Username"),
        ),
        ObjectSpec(
            "Profile",
            "Profile",
            "00e",
            [
                *_system(has_is_deleted=False),
                _s("Name", nillable=False),
                FieldSpec("UserType", "picklist", picklist=("Standard", "PowerPartner"), updateable=False),
                FieldSpec("Description", "textarea", length=255),
            ],
            required=("Name",),
        ),
        ObjectSpec(
            "UserRole",
            "Role",
            "00E",
            [
                *_system(has_is_deleted=False),
                _s("Name", 80, nillable=False),
                _s("DeveloperName", 80, nillable=False, unique=True),
                _ref("ParentRoleId", ("UserRole",), "ParentRole"),
                _s("RollupDescription", 80),
            ],
            required=("Name", "DeveloperName"),
        ),
        ObjectSpec(
            "Contact",
            "Contact",
            "003",
            [
                *_system(),
                _s("Name", 121, createable=False, updateable=False),
                _s("FirstName", 40),
                _s("LastName", 80, nillable=False),
                FieldSpec("Email", "email", length=80),
                FieldSpec("Phone", "phone", length=40),
                _s("Title", 128),
                _ref("AccountId", ("Account",), "Account", child_name="Contacts"),
                _ref("OwnerId", ("User",), "Owner", nillable=False),
                *_address("Mailing"),
            ],
            required=("LastName",),
        ),
        ObjectSpec(
            "Organization",
            "Organization",
            "00D",
            [
                FieldSpec("Id", "id", "Organization ID", createable=False, updateable=False, nillable=False),
                _s("Name", 80, createable=False, updateable=False),
                _s("Division", 80, createable=False, updateable=False),
                _s("OrganizationType", 40, createable=False, updateable=False, label="Edition"),
                _s("InstanceName", 5, createable=False, updateable=False),
                FieldSpec("IsSandbox", "boolean", createable=False, updateable=False, nillable=False),
                FieldSpec(
                    "TimeZoneSidKey", "picklist", picklist=TIME_ZONES, createable=False, updateable=False
                ),
                _s("DefaultLocaleSidKey", 40, createable=False, updateable=False),
                _s("LanguageLocaleKey", 40, createable=False, updateable=False),
                FieldSpec("CreatedDate", "datetime", createable=False, updateable=False, nillable=False),
                FieldSpec("LastModifiedDate", "datetime", createable=False, updateable=False, nillable=False),
                FieldSpec("SystemModstamp", "datetime", createable=False, updateable=False, nillable=False),
            ],
            has_recycle_bin=False,
            updateable=False,
        ),
        ObjectSpec(
            "Opportunity",
            "Opportunity",
            "006",
            [
                *_system(),
                _s("Name", 120, nillable=False),
                _ref("AccountId", ("Account",), "Account", child_name="Opportunities"),
                _ref("OwnerId", ("User",), "Owner", nillable=False),
                FieldSpec("Amount", "currency"),
                FieldSpec(
                    "StageName", "picklist", picklist=OPPORTUNITY_STAGES, nillable=False, label="Stage"
                ),
                FieldSpec("CloseDate", "date", nillable=False, label="Close Date"),
                FieldSpec("Probability", "percent", label="Probability (%)"),
                FieldSpec(
                    "IsClosed", "boolean", createable=False, updateable=False, nillable=False, label="Closed"
                ),
                FieldSpec(
                    "IsWon", "boolean", createable=False, updateable=False, nillable=False, label="Won"
                ),
                FieldSpec("Type", "picklist", picklist=OPPORTUNITY_TYPES, label="Opportunity Type"),
            ],
            required=("Name", "StageName", "CloseDate"),
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
                _ref(
                    "ObjectId",
                    ("Account",),
                    "Object",
                    nillable=False,
                    updateable=False,
                    child_name="ObjectTerritory2Associations",
                ),
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


def build_objects(
    schema: SchemaKind = "custom", field_access: Mapping[str, FieldAccess] | None = None
) -> dict[str, ObjectSpec]:
    """The objects of one org, by lower-case name.

    `schema="standard"`: an org without any custom field (no `Tier__c`,
    `Potential__c`, `Effort__c`, `Territory__c`, `Locked__c`,
    `Required_Skills__c`, `Visit_Windows__c`, `Visit_Key__c`): writes and queries naming them fail
    with `INVALID_FIELD`. `field_access` narrows what the API user may do with
    a field (`{"Account.Territory__c": "read"}`: read-only, so describe shows
    it neither createable nor updateable; `"hidden"`: no access at all, absent
    from describe and unknown to queries), as field-level security does.
    """
    access = {k.lower(): v for k, v in (field_access or {}).items()}
    out: dict[str, ObjectSpec] = {}
    for spec in _all_objects():
        kept: list[FieldSpec] = []
        for f in spec.fields_list:
            if schema == "standard" and f.custom:
                continue
            granted = access.get(f"{spec.name}.{f.name}".lower())
            if granted == "hidden":
                continue
            kept.append(replace(f, createable=False, updateable=False) if granted == "read" else f)
        out[spec.name.lower()] = replace(spec, fields_list=kept)
    return out


PREFIX_TO_OBJECT: dict[str, str] = {spec.key_prefix: spec.name for spec in _all_objects()}
