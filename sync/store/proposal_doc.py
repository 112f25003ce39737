"""What a territory proposal holds: its moves with their reasons, and what approving it did.

The one place these documents are defined: `sync.proposals` builds them, the
`proposal.diff` and `proposal.outcome` columns store them as JSON and give them
back as these models.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ProposalDocument(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True, extra="ignore")


class ProposedMove(ProposalDocument):
    """One account a rebalance would give to another rep, and why."""

    account_id: str
    account_name: str = ""
    from_rep: str | None  # the owner when the proposal was made (None: it had none)
    to_rep: str
    reason: str = ""
    potential: float = 0.0


class ProposalDiff(ProposalDocument):
    """The moves of a proposal, in account order."""

    moves: tuple[ProposedMove, ...] = ()
    book_after: str = ""  # fingerprint of the book once every move is made (a later night compares)

    def accounts(self) -> set[str]:
        return {m.account_id for m in self.moves}


class DroppedMove(ProposalDocument):
    """A move that no longer held when the proposal was approved (the CRM changed under it)."""

    account_id: str
    why: str


class ProposalOutcome(ProposalDocument):
    """What approving a proposal wrote, and what it dropped and why."""

    applied: tuple[str, ...] = ()  # account ids queued for the CRM
    dropped: tuple[DroppedMove, ...] = ()


class NightDecision(ProposalDocument):
    """What a night decided about owners: forced changes applied, and why it proposed or did not."""

    forced: int = 0  # owner changes the night applied itself (no owner, owner gone, out of reach, skill)
    proposed: int = 0  # rebalancing moves put to a person
    proposal_id: int | None = None
    trigger: tuple[str, ...] = ()  # where balance is past the trigger (empty: within it)
    budget_left: int | None = None  # moves by choice left in the rolling window (None: full mode)
    cooling: int = 0  # accounts moved by choice within the cooldown: kept
    kept_pending: int | None = None  # an older proposal for the same book, still waiting
    why_no_proposal: str = ""
    fingerprint: str = ""  # the book the proposal was planned on
    book_after: str = ""  # ... and the book once it is applied
