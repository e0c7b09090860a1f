"""Remember when a quiz's trainees were told it opens, so they are told once.

Revision ID: 3b7e5c1d9a42
Revises: 3b7e9c1d4a25
Create Date: 2026-12-03 14:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b7e5c1d9a42'
down_revision = '3b7e9c1d4a25'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opening_notified_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.drop_column('opening_notified_at')
