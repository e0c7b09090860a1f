"""Questions that give one another away share an exclusive group: one draw never takes two.

Revision ID: 8d3f0b6a2c71
Revises: 5c2d7a9e41b3
Create Date: 2026-12-02 15:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8d3f0b6a2c71'
down_revision = '5c2d7a9e41b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exclusive_group', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_column('exclusive_group')
