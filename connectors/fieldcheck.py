"""Is a field map usable in this org? Checked once at the start of a pull, against describe facts.

Each connector turns its CRM's describe (Salesforce) or properties API
(HubSpot) into `FieldFact`s; this module decides, the same way for both,
whether each mapped field exists, has a type its planner attribute can be
read from, can be read by our API user, and (the territory) written back.
Every problem goes into ONE line naming the field and the FIELD_MAP key, so a
run stops before it pulls a book it would misread.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.base import FieldFact, FieldKind, FieldMap, FieldMapError, FieldRole

ACCEPTED_KINDS: Mapping[FieldRole, frozenset[FieldKind]] = {
    FieldRole.TIER: frozenset({FieldKind.TEXT, FieldKind.PICKLIST}),
    FieldRole.POTENTIAL: frozenset({FieldKind.NUMBER}),
    FieldRole.EFFORT: frozenset({FieldKind.NUMBER}),
    FieldRole.LOCKED: frozenset({FieldKind.BOOLEAN}),
    FieldRole.SKILLS: frozenset({FieldKind.MULTI_PICKLIST, FieldKind.TEXT}),
    FieldRole.VISIT_WINDOWS: frozenset({FieldKind.TEXT}),
    FieldRole.TERRITORY: frozenset({FieldKind.TEXT, FieldKind.PICKLIST}),
}


def field_problems(
    facts: Mapping[str, FieldFact], fields: FieldMap, *, crm: str, key: str, territory_created: bool = False
) -> list[str]:
    """What is wrong with each mapped field; `facts` by lower-case field name.

    `key` is the field map's section (salesforce, hubspot) for the message;
    `territory_created`: a missing territory field is created by the connector.
    """
    problems: list[str] = []
    for role, name in fields.mapped():
        where = f"{crm} field {name!r} (FIELD_MAP {key}.{role})"
        fact = facts.get(name.lower())
        if fact is None:
            if not (role is FieldRole.TERRITORY and territory_created):
                problems.append(f"{where} does not exist or the API user cannot see it")
            continue
        accepted = ACCEPTED_KINDS[role]
        if fact.kind not in accepted:
            wanted = " or ".join(sorted(k.value for k in accepted))
            problems.append(f"{where} is of type {fact.crm_type}; {role} needs {wanted}")
        elif not fact.readable:
            problems.append(f"{where} cannot be read by the API user")
        elif role is FieldRole.TERRITORY and not fact.writable:
            problems.append(f"{where} cannot be edited by the API user, and the territory is written back")
    return problems


def check_field_map(
    facts: Mapping[str, FieldFact], fields: FieldMap, *, crm: str, key: str, territory_created: bool = False
) -> None:
    """Raise `FieldMapError` with one line naming every unusable mapped field."""
    problems = field_problems(facts, fields, crm=crm, key=key, territory_created=territory_created)
    if problems:
        raise FieldMapError("field map: " + "; ".join(problems))
