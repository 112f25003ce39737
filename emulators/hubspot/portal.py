"""The API rules of one emulated portal that several routes share: property validation,
configured rejections, id resolution, associations on read and create."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from emulators.faults import FaultInjector
from emulators.hubspot.org import (
    ASSOCIATION_TYPE_IDS,
    COMPUTED,
    HubSpotError,
    HubSpotOrg,
    StoredObject,
    canonical_type,
    iso_ms,
    parse_time_ms,
)


class Portal:
    """The API operations of one emulated portal, over a `HubSpotOrg` and a `FaultInjector`."""

    def __init__(self, org: HubSpotOrg, faults: FaultInjector) -> None:
        self.org = org
        self.faults = faults

    def clean_properties(
        self, object_type: str, properties: Mapping[str, Any] | None
    ) -> dict[str, str | None]:
        """Validate written values like HubSpot: unknown names and bad numbers fail the call."""
        defs = self.org.properties[object_type]
        problems: list[dict[str, Any]] = []
        clean: dict[str, str | None] = {}
        for name, value in (properties or {}).items():
            prop = defs.get(name)
            if prop is None:
                problems.append(
                    {
                        "isValid": False,
                        "message": f'Property "{name}" does not exist',
                        "error": "PROPERTY_DOESNT_EXIST",
                        "name": name,
                    }
                )
                continue
            if name in COMPUTED:
                continue
            if prop.read_only:
                problems.append(
                    {
                        "isValid": False,
                        "message": f"{name} is a read only property; its value cannot be set.",
                        "error": "READ_ONLY_VALUE",
                        "name": name,
                    }
                )
                continue
            text = None if value is None else str(value)
            if text not in (None, "") and prop.type == "number":
                try:
                    float(text)
                except ValueError:
                    problems.append(
                        {
                            "isValid": False,
                            "message": f"{text} was not a valid number.",
                            "error": "INVALID_FLOAT",
                            "name": name,
                        }
                    )
                    continue
            if text not in (None, "") and prop.type in ("datetime", "date"):
                ms = parse_time_ms(text)
                if ms is None:
                    problems.append(
                        {
                            "isValid": False,
                            "message": f"{text} is not a valid datetime",
                            "error": "INVALID_DATE",
                            "name": name,
                        }
                    )
                    continue
                text = iso_ms(ms)
            if prop.type == "bool" and text is not None:
                text = text.lower()
            clean[name] = text
        if problems:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                "Property values were not valid: " + json.dumps(problems, separators=(",", ":")),
                errors=[
                    {
                        "message": p["message"],
                        "code": p["error"],
                        "context": {"propertyName": [p["name"]]},
                    }
                    for p in problems
                ],
            )
        return clean

    def rejection(self, object_type: str, record_id: str | None) -> None:
        """A configured validation failure for this record fails the call, as in HubSpot."""
        message = self.faults.rejection_for(record_id)
        if message is not None:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"{message} (record {record_id})",
                errors=[
                    {
                        "message": message,
                        "code": "INVALID_OPTION",
                        "context": {"id": [str(record_id)]},
                    }
                ],
                context={"id": [str(record_id)]},
            )

    def resolve_id(self, object_type: str, object_id: str, id_property: str | None) -> str:
        """The record id for `object_id` (by a unique property, or a merged-away id)."""
        org = self.org
        if id_property and id_property != "hs_object_id":
            prop = org.properties[object_type].get(id_property)
            if prop is None or not prop.has_unique_value:
                raise HubSpotError(
                    400,
                    "VALIDATION_ERROR",
                    f"{id_property} is not a unique property of {object_type}",
                )
            found = org.tables[object_type].unique.get(id_property, {}).get(object_id)
            if found is None:
                raise HubSpotError(
                    404,
                    "OBJECT_NOT_FOUND",
                    "Object not found.  objectId are usually numeric.",
                    context={"id": [object_id]},
                )
            return found
        return org.merged_into.get((object_type, object_id), object_id)

    def with_associations(
        self, obj: StoredObject, names: Iterable[str], associations: list[str]
    ) -> dict[str, Any]:
        out = obj.as_json(names)
        if associations:
            block: dict[str, Any] = {}
            for raw in associations:
                try:
                    to_type = canonical_type(raw)
                except HubSpotError:
                    continue  # unknown association types are ignored, as documented
                found = self.org.associations(obj.object_type, obj.id, to_type)
                if found:
                    label = f"{obj.object_type[:-1]}_to_{to_type[:-1]}".replace("companie", "company")
                    block[raw] = {"results": [{"id": i, "type": label} for i in sorted(found, key=int)]}
            if block:
                out["associations"] = block
        return out

    def create_object(
        self, object_type: str, item: Mapping[str, Any], ms: int
    ) -> tuple[StoredObject, list[tuple[str, str]]]:
        props = self.clean_properties(object_type, item.get("properties"))
        links: list[tuple[str, str]] = []
        for assoc in item.get("associations") or []:
            to_id = str((assoc.get("to") or {}).get("id", ""))
            types = assoc.get("types") or []
            type_id = int(types[0].get("associationTypeId", 0)) if types else 0
            to_type = next(
                (t for (f, t), tid in ASSOCIATION_TYPE_IDS.items() if f == object_type and tid == type_id),
                None,
            )
            if to_type is None:
                raise HubSpotError(400, "VALIDATION_ERROR", f"Invalid association type id {type_id}")
            if to_id not in self.org.tables[to_type].live:
                raise HubSpotError(
                    400,
                    "VALIDATION_ERROR",
                    f"One or more associations are invalid: {to_type[:-1]} {to_id} not found",
                )
            links.append((to_type, to_id))
        obj = self.org._insert(object_type, props, ms, ms)
        return obj, links
