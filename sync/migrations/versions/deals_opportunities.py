"""open pipeline: the opportunity table (Salesforce Opportunities, HubSpot deals)

Revision ID: deals_opportunities
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import sync.store.types

revision: str = 'deals_opportunities'
down_revision: str | None = 'changes_proposals'  # transit: chained locally; the lead renumbers
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('opportunity',
    sa.Column('org_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('crm_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('amount', sa.Float(), nullable=True),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('close_date', sa.Date(), nullable=True),
    sa.Column('owner_crm_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('account_crm_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('is_closed', sa.Boolean(), nullable=False),
    sa.Column('crm_modified_at', sync.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sync.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('merged_into', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('pulled_at', sync.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['crm_org.id'], ),
    sa.PrimaryKeyConstraint('org_id', 'crm_id')
    )
    with op.batch_alter_table('opportunity', schema=None) as batch_op:
        batch_op.create_index('ix_opportunity_account', ['org_id', 'account_crm_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('opportunity', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunity_account')
    op.drop_table('opportunity')
