"""territory proposals: rebalancing moves wait for a person's approval

A `proposal` row holds one rebalance (its moves with reasons, the balance
before and after), its decision (who, when, why) and what approving it wrote
or dropped. Outbox assignment payloads may name the proposal they carry out
(a JSON key: no column change).

Revision ID: 0007
Revises: 0006
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import sync.store.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('plan_run_id', sa.Integer(), nullable=True),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sync.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('inputs_fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('diff', _json(), nullable=False),
    sa.Column('metrics_before', _json(), nullable=False),
    sa.Column('metrics_after', _json(), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('decided_at', sync.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('effective_on', sa.Date(), nullable=True),
    sa.Column('applied_at', sync.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('applied', sa.Integer(), nullable=False),
    sa.Column('dropped', sa.Integer(), nullable=False),
    sa.Column('outcome', _json(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['crm_org.id'], ),
    sa.ForeignKeyConstraint(['plan_run_id'], ['plan_run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_org_status', ['org_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_org_status')
    op.drop_table('proposal')
