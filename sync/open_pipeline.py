"""Open pipeline from the store: open deals per account and per rep, and what they mean for a plan.

An account with an open deal above the policy's `[transition]
protect_pipeline_over` is kept with its rep (`Account.keep_rep`) while the
deal is open. Every other account's disruption price (`Account.move_cost`)
rises with its open pipeline and with its current rep's completed visits in
the last 90 days, so a rebalance moves the accounts nobody is working first.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlmodel import Session, col, select

from planner import Account, Policy
from sync.store import ActivityRow, OpportunityRow
from sync.store.plan_summary import KeptAccount, RepPipeline

RECENT_VISIT_DAYS = 90
# A move's price: × (1 + pipeline / the org's median open deal, at most PIPELINE_CAP
# + VISIT_WEIGHT per recent visit by the current rep, at most VISITS_CAP).
PIPELINE_CAP = 3.0
VISIT_WEIGHT = 0.5
VISITS_CAP = 2.0


@dataclass(frozen=True)
class OpenDeal:
    """An open opportunity or deal at an account, as last pulled."""

    crm_id: str
    name: str
    amount: float
    close_date: date | None
    account_id: str
    owner_id: str | None

    def kept_reason(self) -> str:
        closing = f", closing {self.close_date.isoformat()}" if self.close_date else ""
        return f"kept: open deal {self.name}, {self.amount:,.0f}{closing}"


@dataclass(frozen=True)
class OpenPipeline:
    """The open deals of one org by account, and its reps' completed visits of the last 90 days."""

    deals: Mapping[str, tuple[OpenDeal, ...]] = field(default_factory=dict)  # by account, largest first
    recent_visits: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (account, rep) -> visits

    def amount(self, account_id: str) -> float:
        return sum(d.amount for d in self.deals.get(account_id, ()))

    def protecting(self, account_id: str, threshold: float) -> OpenDeal | None:
        """The largest open deal above `threshold` at the account, if any."""
        deals = self.deals.get(account_id, ())
        return deals[0] if deals and deals[0].amount > threshold else None

    def typical_deal(self) -> float:
        amounts = [d.amount for deals in self.deals.values() for d in deals if d.amount > 0]
        return statistics.median(amounts) if amounts else 0.0

    def by_rep(self, owner_of: Mapping[str, str | None]) -> dict[str, RepPipeline]:
        """Open pipeline per rep, counting each account's deals with whoever holds the account."""
        totals: dict[str, list[float]] = defaultdict(list)
        for account_id, rep_id in owner_of.items():
            if rep_id is not None:
                totals[rep_id].extend(d.amount for d in self.deals.get(account_id, ()))
        return {rep: RepPipeline(amount=sum(a), deals=len(a)) for rep, a in totals.items()}


def load_open_pipeline(org_id: str, *, session: Session, today: date) -> OpenPipeline:
    """Open deals at known accounts (deleted and closed ones left out) and recent completed visits."""
    by_account: dict[str, list[OpenDeal]] = defaultdict(list)
    for row in session.exec(
        select(OpportunityRow).where(
            OpportunityRow.org_id == org_id,
            col(OpportunityRow.deleted_at).is_(None),
            col(OpportunityRow.is_closed).is_(False),
            col(OpportunityRow.account_crm_id).is_not(None),
        )
    ).all():
        assert row.account_crm_id is not None
        deal = OpenDeal(
            row.crm_id, row.name, row.amount or 0.0, row.close_date, row.account_crm_id, row.owner_crm_id
        )
        by_account[row.account_crm_id].append(deal)
    deals = {a: tuple(sorted(ds, key=lambda d: (-d.amount, d.crm_id))) for a, ds in by_account.items()}
    return OpenPipeline(deals, _recent_visits(org_id, session=session, today=today))


def _recent_visits(org_id: str, *, session: Session, today: date) -> dict[tuple[str, str], int]:
    since = today - timedelta(days=RECENT_VISIT_DAYS)
    visits: Counter[tuple[str, str]] = Counter()
    for a in session.exec(
        select(ActivityRow).where(
            ActivityRow.org_id == org_id,
            col(ActivityRow.deleted_at).is_(None),
            col(ActivityRow.completed).is_(True),
            col(ActivityRow.account_crm_id).is_not(None),
            col(ActivityRow.owner_crm_id).is_not(None),
        )
    ).all():
        when = a.ended_at or a.started_at
        if when is not None and since <= when.date() <= today:
            assert a.account_crm_id is not None and a.owner_crm_id is not None
            visits[(a.account_crm_id, a.owner_crm_id)] += 1
    return dict(visits)


def move_cost(pipeline: OpenPipeline, account: Account, typical_deal: float) -> float:
    """× the price of moving the account: 1 for one nobody is working, more for live pipeline and
    recent visits by its rep."""
    amount = pipeline.amount(account.id)
    deals = min(amount / typical_deal, PIPELINE_CAP) if typical_deal > 0 else 0.0
    visits = pipeline.recent_visits.get((account.id, account.current_rep), 0) if account.current_rep else 0
    return 1.0 + deals + min(VISIT_WEIGHT * visits, VISITS_CAP)


def weigh_accounts(
    accounts: Sequence[Account], pipeline: OpenPipeline, policy: Policy
) -> tuple[list[Account], dict[str, OpenDeal]]:
    """The accounts with `keep_rep` for a protecting open deal and `move_cost` for the rest, and the
    deal that protects each kept account."""
    threshold = policy.transition.protect_pipeline_over
    typical = pipeline.typical_deal()
    weighed: list[Account] = []
    protected: dict[str, OpenDeal] = {}
    for account in accounts:
        deal = pipeline.protecting(account.id, threshold) if account.current_rep else None
        if deal is not None:
            protected[account.id] = deal
        weighed.append(
            replace(
                account,
                keep_rep=account.keep_rep or deal is not None,
                move_cost=account.move_cost * move_cost(pipeline, account, typical),
            )
        )
    return weighed, protected


def kept_accounts(
    protected: Mapping[str, OpenDeal],
    current_owner: Mapping[str, str | None],
    assignments: Mapping[str, str | None],
    names: Mapping[str, str],
) -> tuple[KeptAccount, ...]:
    """The protected accounts the plan left with their rep (a rep who left cannot keep one)."""
    return tuple(
        KeptAccount(
            account_id=account_id,
            rep_id=rep,
            reason=deal.kept_reason(),
            account_name=names.get(account_id, ""),
            deal_id=deal.crm_id,
            deal_name=deal.name,
            amount=deal.amount,
            close_date=deal.close_date,
        )
        for account_id, deal in sorted(protected.items())
        if (rep := current_owner.get(account_id)) is not None and assignments.get(account_id) == rep
    )
