"""Records as the REST API renders them: `attributes`, plain fields, nested parent records."""

from __future__ import annotations

from typing import Any

from emulators.salesforce.org import Record, SalesforceOrg, render_value
from emulators.salesforce.schema import ADDRESS_PARTS, ObjectSpec


def record_url(version: str, sobject: str, record_id: str) -> str:
    return f"/services/data/v{version}/sobjects/{sobject}/{record_id}"


def render_record(
    org: SalesforceOrg, rec: Record, spec: ObjectSpec, fields: tuple[str, ...] | None, version: str
) -> dict[str, Any]:
    """One record with `attributes`; every field when `fields` is None, else those paths."""
    out: dict[str, Any] = {
        "attributes": {"type": spec.name, "url": record_url(version, spec.name, rec["Id"])}
    }
    if fields is None:
        for every in spec.fields_list:
            out[every.name] = render_value(rec.get(every.name))
        for compound, prefix in spec.addresses.items():
            out[compound] = address_value(rec, prefix)
        return out
    for path in fields:
        if path in spec.addresses:
            out[path] = address_value(rec, spec.addresses[path])
        elif path in rec:  # a canonical plain field name: the common case, kept fast
            out[path] = render_value(rec[path])
        elif "." not in path:
            one = spec.field(path)
            if one is not None:
                out[one.name] = render_value(rec.get(one.name))
        else:
            _render_parent_field(org, out, rec, spec, path, version)
    return out


def address_value(rec: Record, prefix: str) -> dict[str, Any] | None:
    """A compound address as the API renders it, from its parts (None when every part is empty)."""
    value: dict[str, Any] = {key: rec.get(prefix + part) for key, part in ADDRESS_PARTS.items()}
    if all(v is None for v in value.values()):
        return None
    value["geocodeAccuracy"] = "Zip" if value["latitude"] is not None else None
    return value


def _render_parent_field(
    org: SalesforceOrg, out: dict[str, Any], rec: Record, spec: ObjectSpec, path: str, version: str
) -> None:
    """`Owner.Name` as a nested `Owner` record with its own attributes (None through a null lookup)."""
    rel, rest = path.split(".", 1)
    ref = spec.relationships.get(rel.lower())
    if ref is None:
        return
    key = ref.relationship_name or rel
    ref_id: str | None = rec.get(ref.name)
    target_name = org.object_of_id(ref_id) if ref_id else None
    target_rec = org.get(target_name, ref_id) if target_name and ref_id else None
    if target_rec is None or target_name is None or ref_id is None:
        out[key] = None
        return
    nested = out.get(key)
    if not isinstance(nested, dict):
        nested = {"attributes": {"type": target_name, "url": record_url(version, target_name, ref_id)}}
        out[key] = nested
    target_spec = org.objects[target_name.lower()]
    rendered = render_record(org, target_rec, target_spec, (rest,), version)
    nested.update({k: v for k, v in rendered.items() if k != "attributes"})
