"""Members may sit on their branch's committee (支部委员): they have the 56-hour annual target.

Revision ID: 5c2d7a9e41b3
Revises: e2e1bb684e58
Create Date: 2026-12-02 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c2d7a9e41b3'
down_revision = 'e2e1bb684e58'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('committee_member', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('committee_member')
