"""accounts carry required skills and standing visit windows

The field map (FIELD_MAP) can name a multi-select picklist of the skills an
account needs and a text field of its standing visit windows; the store keeps
both as pulled (skills `;`-separated, windows as the planner reads them).

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skills', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.add_column(
            sa.Column('visit_windows', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('visit_windows')
        batch_op.drop_column('skills')
