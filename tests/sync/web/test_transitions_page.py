"""The transitions page: approved moves with their dates, and two proposals side by side, for any user."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session

from connectors.base import CRMKind
from sync.proposals import approve, record_proposal
from sync.settings import Settings
from sync.store import CrmOrg, ProposalOrigin, RepRow, engine_for
from sync.store.plan_summary import BalanceMetrics, DimensionMetrics, RepLoadMetrics
from sync.store.proposal_doc import ProposedMove
from sync.web import create_app

from .conftest import VIEWER, browser_client, serve_web_app, sign_in

APPROVED = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


def metrics(reps: int, cv: float) -> BalanceMetrics:
    loads = tuple(
        RepLoadMetrics(rep_id=f"r{k}", workload_minutes=90_000, capacity_minutes=80_000, utilisation=1.125,
                       travel_km=1_000.0)
        for k in range(reps)
    )  # fmt: skip
    return BalanceMetrics(potential=DimensionMetrics(cv=cv), reps=loads)


def seed(settings: Settings) -> tuple[int, int, int]:
    with Session(engine_for(settings.database_url)) as session:
        session.add(CrmOrg(id="acme", kind=CRMKind.SALESFORCE))
        session.add(RepRow(org_id="acme", crm_id="r1", name="Ana <b>Lopez</b>"))
        session.add(RepRow(org_id="acme", crm_id="r2", name="Ben Ito"))
        session.flush()
        move = ProposedMove(account_id="001A", account_name="Acme Dental", from_rep="r1", to_rep="r2")
        held = record_proposal(
            "acme", None, [move], before=metrics(2, 0.3), after=metrics(2, 0.1), session=session
        )
        assert held.id is not None
        approve(held.id, "ops@acme.example", now=APPROVED, transition_days=30, session=session)
        five = record_proposal("acme", None, [], before=metrics(5, 0.2), after=metrics(5, 0.08),
                               origin=ProposalOrigin.SCENARIO, label="scenario (minimal): five reps",
                               session=session)  # fmt: skip
        four = record_proposal("acme", None, [move], before=metrics(4, 0.2), after=metrics(4, 0.12),
                               origin=ProposalOrigin.SCENARIO, label="scenario (minimal): remove <i>x</i>",
                               session=session)  # fmt: skip
        session.commit()
        assert five.id is not None and four.id is not None
        return held.id, five.id, four.id


def test_the_transitions_page_shows_each_moves_date_and_two_proposals_side_by_side(
    web_settings: Callable[..., Settings],
) -> None:
    settings = web_settings()
    held, five, four = seed(settings)
    app = create_app(settings)
    with serve_web_app(app, settings) as web:
        viewer, _ = browser_client(web.url)
        sign_in(viewer, VIEWER)
        page = viewer.get("/transitions", params={"org": "acme", "a": five, "b": four})
        assert page.status_code == 200
        html = page.text
        assert html.count('class="held-move"') == 1
        assert "Acme Dental" in html and "2031-04-02" in html  # approved on 3 March + 30 days
        assert "Ana &lt;b&gt;Lopez&lt;/b&gt;" in html  # CRM text is escaped
        assert 'id="compare"' in html and "five reps" in html and "remove &lt;i&gt;x&lt;/i&gt;" in html
        for row in ("potential CV", "hires needed", "utilisation mean / max"):
            assert row in html
        assert viewer.get("/transitions", params={"a": 999, "b": five}).status_code == 404
        proposal = viewer.get(f"/proposals/{held}").text
        assert 'id="effective"' in proposal and "take effect on 2031-04-02" in proposal
