"""Associations v4: default and labelled create, list, delete; batch read, create, associate, archive.

Type ids are HubSpot's HUBSPOT_DEFINED ones (`org.ASSOCIATION_TYPE_IDS`);
every association exists in both directions. Batch writes are all or nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import JSONResponse, Response

from emulators.hubspot.context import Emulator, crm_route, crm_router
from emulators.hubspot.org import ASSOCIATION_TYPE_IDS, TYPE_IDS, HubSpotError, HubSpotOrg, canonical_type
from emulators.hubspot.responses import batch_answer, batch_inputs, json_body

MAX_ASSOCIATION_READ = 1000

router = crm_router()


def assoc_types(from_type: str, to_type: str) -> tuple[int, int]:
    fwd = ASSOCIATION_TYPE_IDS.get((from_type, to_type))
    back = ASSOCIATION_TYPE_IDS.get((to_type, from_type))
    if fwd is None or back is None:
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"No default association exists between {from_type} and {to_type}",
        )
    return fwd, back


def default_result(from_id: str, to_id: str, type_id: int) -> dict[str, Any]:
    return {
        "from": {"id": from_id},
        "to": {"id": to_id},
        "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id},
    }


def labelled_result(from_type: str, from_id: str, to_type: str, to_id: str) -> dict[str, Any]:
    return {
        "fromObjectTypeId": TYPE_IDS[from_type],
        "fromObjectId": from_id,
        "toObjectTypeId": TYPE_IDS[to_type],
        "toObjectId": to_id,
        "labels": [],
    }


def type_list(type_ids: set[int]) -> list[dict[str, Any]]:
    return [{"category": "HUBSPOT_DEFINED", "typeId": tid, "label": None} for tid in sorted(type_ids)]


def pairs_of(inputs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (str((i.get("from") or {}).get("id", "")), str((i.get("to") or {}).get("id", ""))) for i in inputs
    ]


def check_live(state: HubSpotOrg, from_type: str, to_type: str, pairs: list[tuple[str, str]]) -> None:
    """Every record named exists (else 404 for the whole batch, before anything is written)."""
    for a, b in pairs:
        state._live(from_type, a)
        state._live(to_type, b)


@crm_route(router, "/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}", "PUT")
async def associate_default(
    from_type: str, from_id: str, to_type: str, to_id: str, emulator: Emulator
) -> JSONResponse:
    f, t = canonical_type(from_type), canonical_type(to_type)
    state = emulator.org
    started = state.now_ms()
    with state.lock:
        type_id = state.associate(f, from_id, t, to_id)
    back = ASSOCIATION_TYPE_IDS[(t, f)]
    return batch_answer(
        [default_result(from_id, to_id, type_id), default_result(to_id, from_id, back)], started, [], 200
    )


@crm_route(router, "/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}/{to_id}", "PUT")
async def associate_labelled(
    from_type: str, from_id: str, to_type: str, to_id: str, request: Request, emulator: Emulator
) -> JSONResponse:
    f, t = canonical_type(from_type), canonical_type(to_type)
    specs = await json_body(request)
    fwd, _ = assoc_types(f, t)
    if not isinstance(specs, list) or not specs:
        raise HubSpotError(400, "VALIDATION_ERROR", "Body must be a list of association specs")
    for spec in specs:
        if int(spec.get("associationTypeId", 0)) != fwd:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"associationTypeId {spec.get('associationTypeId')} is not valid from {f} to {t}",
            )
    with emulator.org.lock:
        emulator.org.associate(f, from_id, t, to_id)
    return JSONResponse(labelled_result(f, from_id, t, to_id), status_code=201)


@crm_route(router, "/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}", "GET")
async def list_associations(
    from_type: str, from_id: str, to_type: str, request: Request, emulator: Emulator
) -> JSONResponse:
    f, t = canonical_type(from_type), canonical_type(to_type)
    limit = int(request.query_params.get("limit", "500"))
    after = int(request.query_params.get("after") or 0)
    with emulator.org.lock:
        found = emulator.org.associations(f, from_id, t)
    ids = sorted(int(i) for i in found if int(i) > after)
    results = [{"toObjectId": str(i), "associationTypes": type_list(found[str(i)])} for i in ids[:limit]]
    body: dict[str, Any] = {"results": results}
    if len(ids) > limit:
        body["paging"] = {"next": {"after": str(ids[limit - 1])}}
    return JSONResponse(body)


@crm_route(router, "/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}/{to_id}", "DELETE")
async def delete_association(
    from_type: str, from_id: str, to_type: str, to_id: str, emulator: Emulator
) -> Response:
    f, t = canonical_type(from_type), canonical_type(to_type)
    with emulator.org.lock:
        emulator.org.dissociate(f, from_id, t, to_id)
    return Response(status_code=204)


@crm_route(router, "/crm/v4/associations/{from_type}/{to_type}/batch/read", "POST")
async def batch_read_associations(
    from_type: str, to_type: str, request: Request, emulator: Emulator
) -> JSONResponse:
    f, t = canonical_type(from_type), canonical_type(to_type)
    inputs = batch_inputs(await json_body(request), MAX_ASSOCIATION_READ)
    state = emulator.org
    started = state.now_ms()
    results, missing = [], []
    with state.lock:
        for item in inputs:
            from_id = str(item.get("id", ""))
            found = state.associations(f, from_id, t)
            if not found:
                missing.append(from_id)
                continue
            targets = sorted(found.items(), key=lambda kv: int(kv[0]))
            results.append(
                {
                    "from": {"id": from_id},
                    "to": [
                        {"toObjectId": to_id, "associationTypes": type_list(tids)} for to_id, tids in targets
                    ],
                }
            )
    errors = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            "message": f"No {t[:-1]} is associated with {f[:-1]} {i}.",
            "context": {"fromObjectId": [i]},
        }
        for i in missing
    ]
    return batch_answer(results, started, errors, 200)


@crm_route(router, "/crm/v4/associations/{from_type}/{to_type}/batch/associate/default", "POST")
async def batch_associate_default(
    from_type: str, to_type: str, request: Request, emulator: Emulator
) -> JSONResponse:
    f, t = canonical_type(from_type), canonical_type(to_type)
    fwd, back = assoc_types(f, t)
    inputs = batch_inputs(await json_body(request))
    state = emulator.org
    started = state.now_ms()
    results = []
    with state.lock:
        pairs = pairs_of(inputs)
        check_live(state, f, t, pairs)
        for a, b in pairs:
            state.associate(f, a, t, b)
            results += [default_result(a, b, fwd), default_result(b, a, back)]
    return batch_answer(results, started, [], 200)


@crm_route(router, "/crm/v4/associations/{from_type}/{to_type}/batch/create", "POST")
async def batch_create_associations(
    from_type: str, to_type: str, request: Request, emulator: Emulator
) -> JSONResponse:
    f, t = canonical_type(from_type), canonical_type(to_type)
    assoc_types(f, t)
    inputs = batch_inputs(await json_body(request))
    state = emulator.org
    started = state.now_ms()
    results = []
    with state.lock:
        pairs = pairs_of(inputs)
        check_live(state, f, t, pairs)
        for a, b in pairs:
            state.associate(f, a, t, b)
            results.append(labelled_result(f, a, t, b))
    return batch_answer(results, started, [], 201)


@crm_route(router, "/crm/v4/associations/{from_type}/{to_type}/batch/archive", "POST")
async def batch_archive_associations(
    from_type: str, to_type: str, request: Request, emulator: Emulator
) -> Response:
    f, t = canonical_type(from_type), canonical_type(to_type)
    inputs = batch_inputs(await json_body(request))
    with emulator.org.lock:
        for item in inputs:
            a = str((item.get("from") or {}).get("id", ""))
            for target in item.get("to") or []:
                emulator.org.dissociate(f, a, t, str(target.get("id", "")))
    return Response(status_code=204)
