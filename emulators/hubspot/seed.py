"""Load a CRM-neutral `SeedOrg` into the HubSpot emulator's portal: owners, companies, meetings, calls, deals.

Users become owners in their teams (inactive users are archived owners, as
deactivated users are in HubSpot); accounts become companies with the custom
properties territory-sync reads (`tier`, `potential`, `effort`, `locked`,
`latitude`, `longitude`, `required_skills`) when the portal has them, and
HubSpot's own `annualrevenue`, `numberofemployees` and
`hs_ideal_customer_profile`; past visits become meetings and calls, deals
become deals, each associated to its company. Bulk paths keep 100,000
companies and their activity to a few seconds.
"""

from __future__ import annotations

import gc
import re

from emulators.hubspot.org import HubSpotOrg, iso_ms, to_ms
from emulators.seed import DealStage, SeedAccount, SeedOrg

Rows = list[tuple[dict[str, str | None], int, int]]

DEAL_STAGE_IDS = {
    DealStage.PROSPECTING: "appointmentscheduled",
    DealStage.QUALIFICATION: "qualifiedtobuy",
    DealStage.NEEDS_ANALYSIS: "presentationscheduled",
    DealStage.PROPOSAL: "decisionmakerboughtin",
    DealStage.NEGOTIATION: "contractsent",
    DealStage.CLOSED_WON: "closedwon",
    DealStage.CLOSED_LOST: "closedlost",
}
_TIER_PROFILE = {"A": "tier_1", "B": "tier_2", "C": "tier_3"}


def seed_portal(state: HubSpotOrg, org: SeedOrg) -> None:
    """Load a CRM-neutral `SeedOrg` as owners, companies, meetings, calls and deals."""
    # Hundreds of thousands of small dicts: cyclic GC passes would dominate the load time.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _seed_portal(state, org)
    finally:
        if was_enabled:
            gc.enable()


def _company(a: SeedAccount, owner_id: str) -> dict[str, str | None]:
    return {
        "name": a.name,
        "domain": re.sub(r"[^a-z0-9]+", "", a.name.split(" (")[0].lower()) + ".example.com",
        "zip": a.postal_code,
        "city": a.city,
        "state": a.state,
        "country": a.country,
        "industry": a.industry,
        "hubspot_owner_id": owner_id,
        "annualrevenue": None if a.annual_revenue is None else f"{a.annual_revenue:g}",
        "numberofemployees": str(max(1, int(abs(a.potential or 20_000.0) / 2_500))),
        "hs_ideal_customer_profile": _TIER_PROFILE.get(a.tier or ""),
        "tier": a.tier,
        "potential": None if a.potential is None else f"{a.potential:g}",
        "effort": f"{a.effort:g}",
        "locked": "true" if a.locked else "false",
        "latitude": None if a.lat is None else f"{a.lat:.6f}",
        "longitude": None if a.lon is None else f"{a.lon:.6f}",
        "required_skills": ";".join(a.required_skills) or None,
    }


def _only_known(state: HubSpotOrg, object_type: str, rows: Rows) -> Rows:
    """Drop the properties this portal does not define (a `standard` portal's custom ones)."""
    known = state.properties[object_type]
    if not rows or all(name in known for name in rows[0][0]):
        return rows
    return [({k: v for k, v in props.items() if k in known}, c, m) for props, c, m in rows]


def _seed_portal(state: HubSpotOrg, org: SeedOrg) -> None:
    owner_ids = [
        state.add_owner(u.email, u.first_name, u.last_name, archived=not u.active, teams=u.teams)
        for u in org.users
    ]
    companies: Rows = [
        (_company(a, owner_ids[a.owner_index]), to_ms(a.created_at), to_ms(a.modified_at))
        for a in org.accounts
    ]
    company_ids = state.bulk_insert("companies", _only_known(state, "companies", companies))
    _seed_activities(state, org, owner_ids, company_ids)
    deals: Rows = [
        (
            {
                "dealname": d.name,
                "amount": f"{d.amount:g}",
                "dealstage": DEAL_STAGE_IDS[d.stage],
                "pipeline": "default",
                "closedate": iso_ms(to_ms(d.close_date_time)),
                "dealtype": "existingbusiness",
                "hubspot_owner_id": owner_ids[d.owner_index],
                "hs_is_closed": "true" if d.stage.is_closed else "false",
                "hs_is_closed_won": "true" if d.stage.is_won else "false",
            },
            to_ms(d.created_at),
            to_ms(d.modified_at),
        )
        for d in org.opportunities
    ]
    contacts: Rows = [
        (
            {
                "email": c.email,
                "firstname": c.first_name,
                "lastname": c.last_name,
                "phone": c.phone,
                "jobtitle": c.title,
                "company": org.accounts[c.account_index].name,
                "lifecyclestage": "customer",
                "hubspot_owner_id": owner_ids[c.owner_index],
            },
            to_ms(c.created_at),
            to_ms(c.modified_at),
        )
        for c in org.contacts
    ]
    contact_ids = state.bulk_insert("contacts", contacts)
    state.bulk_associate(
        "contacts",
        "companies",
        zip(contact_ids, [company_ids[c.account_index] for c in org.contacts], strict=True),
    )
    deal_ids = state.bulk_insert("deals", deals)
    targets = [company_ids[d.account_index] for d in org.opportunities]
    state.bulk_associate("deals", "companies", zip(deal_ids, targets, strict=True))


def _seed_activities(state: HubSpotOrg, org: SeedOrg, owner_ids: list[str], company_ids: list[str]) -> None:
    meetings: Rows = []
    calls: Rows = []
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
