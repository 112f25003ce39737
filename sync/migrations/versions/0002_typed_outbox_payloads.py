"""outbox payloads say their kind

Outbox payloads are typed (sync/store/outbox_payload.py): the JSON carries a
`kind` key that tells an assignment from a visit. Rows queued before this
revision get it from their row's `kind` column.

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE outbox SET payload = jsonb_set(payload, '{kind}', to_jsonb(kind)) "
            "WHERE NOT (payload ? 'kind')"
        )
    else:
        op.execute(
            "UPDATE outbox SET payload = json_set(payload, '$.kind', kind) "
            "WHERE json_extract(payload, '$.kind') IS NULL"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE outbox SET payload = payload - 'kind'")
    else:
        op.execute("UPDATE outbox SET payload = json_remove(payload, '$.kind')")
