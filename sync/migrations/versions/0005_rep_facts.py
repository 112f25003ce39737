"""the field team's facts from the CRM, account addresses, and what a visit's calendar entry says

`rep.time_zone` (Salesforce User.TimeZoneSidKey) and `rep.on_crm_team`
(SALESFORCE_REP_FILTER / HUBSPOT_REP_TEAMS, None when no rule is set);
`account.address` (one line, for the visit's location); `planned_visit`
gains the account's tier, cadence and last visit for the Event's description.
The team file's own facts are read at each plan, not stored.

Revision ID: 0005
Revises: 0004
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rep") as batch:
        batch.add_column(sa.Column("time_zone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column("on_crm_team", sa.Boolean(), nullable=True))
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
    with op.batch_alter_table("planned_visit") as batch:
        batch.add_column(sa.Column("tier", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch.add_column(sa.Column("visits_per_year", sa.Float(), nullable=True))
        batch.add_column(sa.Column("last_visit", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("planned_visit") as batch:
        batch.drop_column("last_visit")
        batch.drop_column("visits_per_year")
        batch.drop_column("tier")
    with op.batch_alter_table("account") as batch:
        batch.drop_column("address")
    with op.batch_alter_table("rep") as batch:
        batch.drop_column("on_crm_team")
        batch.drop_column("time_zone")
