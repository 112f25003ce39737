"""travel_pair: the road engines' answers, cached per pair of points

A pair is keyed by engine, profile and data version (rebuilt tiles have a new
version) and by its two points rounded to 1e-5 degrees, so a nightly run asks
the engine only for points that changed.

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import sync.store.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('travel_pair',
    sa.Column('engine', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('profile', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('data_version', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('destination', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('minutes', sa.Float(), nullable=True),
    sa.Column('km', sa.Float(), nullable=True),
    sa.Column('origin_off_road', sa.Boolean(), nullable=False),
    sa.Column('destination_off_road', sa.Boolean(), nullable=False),
    sa.Column('created_at', sync.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('engine', 'profile', 'data_version', 'origin', 'destination')
    )


def downgrade() -> None:
    op.drop_table('travel_pair')
