"""Proposals in a real headless Chromium: a viewer reads them without buttons and cannot decide;
an approver approves or rejects from the form and the decision is recorded with them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from sync import proposals
from sync.settings import Settings
from sync.store import AccountRow, CrmOrg, OutboxItem, ProposalStatus, RepRow, engine_for
from sync.store.outbox_payload import AssignmentPayload
from sync.store.plan_summary import BalanceMetrics
from sync.store.proposal_doc import ProposedMove
from sync.web import create_app

from .conftest import APPROVER, PASSWORD, VIEWER, RunningWeb, serve_web_app
from .test_console_browser import CHROMIUM, shot

HOSTILE = "<img src=x onerror=\"document.title='pwned'\"> ${document.title='pwned'} `Bob`s [/]x[bold]"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)"),
]


def _propose(settings: Settings) -> int:
    """A pending proposal of three moves, one account named like an attack."""
    with Session(engine_for(settings.database_url)) as session:
        session.add(CrmOrg(id="hubspot", kind="hubspot", name="HubSpot"))
        session.flush()
        session.add(RepRow(org_id="hubspot", crm_id="o1", name="Ana Ortiz"))
        session.add(RepRow(org_id="hubspot", crm_id="o2", name="Bo Berg"))
        for i, name in enumerate((HOSTILE, "Corner Shop", "Dock Diner")):
            session.add(AccountRow(org_id="hubspot", crm_id=f"c{i}", name=name, owner_crm_id="o1"))
        moves = [
            ProposedMove(
                account_id=f"c{i}", account_name=n, from_rep="o1", to_rep="o2", reason="balances potential"
            )
            for i, n in enumerate((HOSTILE, "Corner Shop", "Dock Diner"))
        ]
        p = proposals.record_proposal(
            "hubspot", None, moves, before=BalanceMetrics(), after=BalanceMetrics(), session=session
        )
        session.commit()
        assert p.id is not None
        return p.id


@pytest.fixture
def console(
    web_settings: Callable[..., Settings], tmp_path: Path
) -> Iterator[tuple[FastAPI, RunningWeb, int]]:
    policy = tmp_path / "policy.toml"  # approvals apply at once here (dates: test_transitions_page)
    policy.write_text("[transition]\ndays = 0\n")
    settings = web_settings(policy_file=str(policy))
    pid = _propose(settings)
    app = create_app(settings)
    with serve_web_app(app, settings) as web:
        yield app, web, pid


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def signed_in(browser: Any, web: RunningWeb, email: str, path: str) -> Any:
    page = browser.new_context().new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
    page.goto(f"{web.url}{path}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{web.url}{path}")
    return page


def _stored(app: FastAPI, pid: int) -> Any:
    with Session(engine_for(app.state.settings.database_url)) as session:
        return proposals.get_proposal(pid, session=session)


def test_a_viewer_sees_the_proposal_without_the_buttons_and_cannot_approve_it(
    console: tuple[FastAPI, RunningWeb, int], browser: Any
) -> None:
    app, web, pid = console
    page = signed_in(browser, web, VIEWER, f"/proposals/{pid}")
    assert page.locator("tr.move-row").count() == 3
    assert HOSTILE in page.locator("#moves").inner_text() and "Bo Berg" in page.locator("#moves").inner_text()
    assert page.title() != "pwned" and page.locator("#moves img").count() == 0
    assert page.locator("form.approve").count() == 0 and page.locator(".approver-only").is_visible()
    shot(page, "proposal-viewer.png")
    forged = page.evaluate(
        f"""async () => {{
            const token = document.querySelector('meta[name=csrf-token]').content;
            const answer = await fetch('/proposals/{pid}/approve', {{method: 'POST',
                body: new URLSearchParams({{csrf_token: token}})}});
            return answer.status;
        }}"""
    )
    assert forged == 403
    assert _stored(app, pid).status is ProposalStatus.PENDING


def test_an_approver_approves_from_the_form_and_the_decision_records_them(
    console: tuple[FastAPI, RunningWeb, int], browser: Any
) -> None:
    app, web, pid = console
    page = signed_in(browser, web, APPROVER, "/proposals")
    assert page.locator("tr.proposal-row").count() == 1
    page.click(f"a[href='/proposals/{pid}']")
    page.click("form.approve button")
    page.wait_for_url(f"{web.url}/proposals/{pid}?decided=approved")
    assert f"approved by {APPROVER}" in page.locator("#audit").inner_text()
    assert "3 move(s) queued for the CRM" in page.locator("#outcome").inner_text()
    assert page.locator("form.approve").count() == 0, "a decided proposal has no buttons"
    shot(page, "proposal-approved.png")
    stored = _stored(app, pid)
    assert (stored.status, stored.decided_by, stored.applied) == (ProposalStatus.APPLIED, APPROVER, 3)
    with Session(engine_for(app.state.settings.database_url)) as session:
        payloads = [r.payload for r in session.exec(select(OutboxItem)).all()]
    assert {p.proposal_id for p in payloads if isinstance(p, AssignmentPayload)} == {pid}


def test_an_approver_rejects_with_a_reason_and_a_form_without_its_csrf_token_is_refused(
    console: tuple[FastAPI, RunningWeb, int], browser: Any
) -> None:
    app, web, pid = console
    page = signed_in(browser, web, APPROVER, f"/proposals/{pid}")
    no_token = page.evaluate(
        f"""async () => (await fetch('/proposals/{pid}/reject', {{method: 'POST',
            body: new URLSearchParams({{reason: 'no'}})}})).status"""
    )
    assert no_token == 403 and _stored(app, pid).status is ProposalStatus.PENDING
    page.fill("form.reject input[name=reason]", "wait for the Q1 kick-off")
    page.click("form.reject button")
    page.wait_for_url(f"{web.url}/proposals/{pid}?decided=rejected")
    assert "wait for the Q1 kick-off" in page.locator("#audit").inner_text()
    stored = _stored(app, pid)
    assert (stored.status, stored.decided_by, stored.decision_reason) == (
        ProposalStatus.REJECTED,
        APPROVER,
        "wait for the Q1 kick-off",
    )
