"""A short team's plan page says what the team can cover, and lists every visit it could not place, why."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from sync import pipeline
from sync.settings import Settings
from sync.store.schema import upgrade
from sync.views import load_plan_view
from sync.web import create_app

from ..conftest import EmulatedCRM
from .conftest import VIEWER, browser_client, serve_web_app, sign_in


def test_a_short_teams_plan_page_states_the_coverage_plan_and_every_unplaced_visit_with_its_reason(
    hubspot_crm: Callable[..., EmulatedCRM], web_settings: Callable[..., Settings]
) -> None:
    server, _app = hubspot_crm(400, 2, seed=3, metros=1)  # two reps for 400 accounts: short
    settings = web_settings(
        hubspot_access_token="pat-na1-short", hubspot_base_url=server.url, plan_seconds="2", plan_weeks="1"
    )
    upgrade(settings.database_url)
    ctx = pipeline.Context.from_settings(settings)
    plan_run_id = pipeline.run_all("hubspot", ctx=ctx).plan.plan_run_id
    summary = load_plan_view(ctx.engine, plan_run_id=plan_run_id).plan_run.summary
    assert summary.coverage_plan is not None and summary.extra_reps_needed >= 1
    unplaced = [u for coverage in summary.coverage.values() for u in coverage.unplannable]
    assert unplaced

    with serve_web_app(create_app(settings), settings) as web:
        client, _cookies = browser_client(web.url)
        assert sign_in(client, VIEWER).status_code == 303
        page = html.unescape(client.get(f"/plans/{plan_run_id}").text)
    section = page[page.index('id="coverage-plan"') : page.index('id="balance"')]
    assert summary.coverage_plan.summary in section and "What the team can cover" in section
    for cut in summary.coverage_plan.cuts:
        assert f"<td>{cut.tier}</td><td>{cut.accounts}</td>" in section
    table = page[page.index('<table id="unplaced">') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") - 1 == len(unplaced)  # one row per account with unplaced visits
    assert all(u.reason in table for u in unplaced)
    assert f"could not place ({sum(u.visits for u in unplaced)})" in page
    assert not re.search(r"<td>\d{6,}</td>", table)  # accounts and reps by name, not CRM id
