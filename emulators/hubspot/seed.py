"""Load a CRM-neutral `SeedOrg` into the HubSpot emulator's portal: owners, companies, meetings, calls.

Reps become owners (inactive reps are archived owners, as deactivated users
are in HubSpot); accounts become companies with the custom properties
territory-sync reads (`tier`, `potential`, `effort`, `locked`, `latitude`,
`longitude`); past visits become meetings and calls associated to their
company. Bulk paths keep 100,000 companies and their activity to a few seconds.
"""

from __future__ import annotations

import gc
import re

from emulators.hubspot.org import HubSpotOrg, iso_ms, to_ms
from emulators.seed import SeedOrg


def seed_portal(state: HubSpotOrg, org: SeedOrg) -> None:
    """Load a CRM-neutral `SeedOrg` as owners, companies, meetings and calls."""
    # Hundreds of thousands of small dicts: cyclic GC passes would dominate the load time.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _seed_portal(state, org)
    finally:
        if was_enabled:
            gc.enable()


def _seed_portal(state: HubSpotOrg, org: SeedOrg) -> None:
    owner_ids = [state.add_owner(r.email, r.first_name, r.last_name, archived=not r.active) for r in org.reps]
    companies: list[tuple[dict[str, str | None], int, int]] = [
        (
            {
                "name": a.name,
                "domain": re.sub(r"[^a-z0-9]+", "", a.name.split(" (")[0].lower()) + ".example.com",
                "zip": a.postal_code,
                "city": a.city,
                "state": a.state,
                "country": a.country,
                "industry": a.industry,
                "hubspot_owner_id": owner_ids[a.owner_index],
                "tier": a.tier,
                "potential": None if a.potential is None else f"{a.potential:g}",
                "effort": f"{a.effort:g}",
                "locked": "true" if a.locked else "false",
                "latitude": None if a.lat is None else f"{a.lat:.6f}",
                "longitude": None if a.lon is None else f"{a.lon:.6f}",
            },
            to_ms(a.created_at),
            to_ms(a.modified_at),
        )
        for a in org.accounts
    ]
    company_ids = state.bulk_insert("companies", companies)
    meetings: list[tuple[dict[str, str | None], int, int]] = []
    calls: list[tuple[dict[str, str | None], int, int]] = []
    meeting_targets: list[str] = []
    call_targets: list[str] = []
    for act in org.activities:
        start, end = to_ms(act.start), to_ms(act.end)
        owner = owner_ids[act.owner_index]
        if act.kind == "visit":
            meetings.append(
                (
                    {
                        "hs_timestamp": iso_ms(start),
                        "hs_meeting_title": act.subject,
                        "hs_meeting_start_time": iso_ms(start),
                        "hs_meeting_end_time": iso_ms(end),
                        "hs_meeting_outcome": "COMPLETED" if act.completed else "NO_SHOW",
                        "hubspot_owner_id": owner,
                    },
                    start,
                    to_ms(act.modified_at),
                )
            )
            meeting_targets.append(company_ids[act.account_index])
        else:
            calls.append(
                (
                    {
                        "hs_timestamp": iso_ms(start),
                        "hs_call_title": act.subject,
                        "hs_call_status": "COMPLETED" if act.completed else "NO_ANSWER",
                        "hs_call_direction": "OUTBOUND",
                        "hs_call_duration": str((end - start)),
                        "hubspot_owner_id": owner,
                    },
                    start,
                    to_ms(act.modified_at),
                )
            )
            call_targets.append(company_ids[act.account_index])
    for object_type, rows, targets in (
        ("meetings", meetings, meeting_targets),
        ("calls", calls, call_targets),
    ):
        new_ids = state.bulk_insert(object_type, rows)
        state.bulk_associate(object_type, "companies", zip(new_ids, targets, strict=True))
