"""Training evaluation (教学评估): lesson ratings and session evaluations, one per trainee.

Revision ID: b7e4c19a5d32
Revises: 8d3f0b6a2c71
Create Date: 2026-12-03 14:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e4c19a5d32'
down_revision = '8d3f0b6a2c71'
branch_labels = None
depends_on = None


def _score(table, column):
    return sa.CheckConstraint(
        f'{column} BETWEEN 1 AND 5', name=op.f(f'ck_{table}_{column}_in_range')
    )


def upgrade():
    op.create_table(
        'lesson_ratings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lesson_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('content', sa.SmallInteger(), nullable=False),
        sa.Column('lecturer', sa.SmallInteger(), nullable=False),
        sa.Column('usefulness', sa.SmallInteger(), nullable=False),
        sa.Column('comment', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        _score('lesson_ratings', 'content'),
        _score('lesson_ratings', 'lecturer'),
        _score('lesson_ratings', 'usefulness'),
        sa.ForeignKeyConstraint(
            ['lesson_id'], ['lessons.id'],
            name=op.f('fk_lesson_ratings_lesson_id_lessons'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['member_id'], ['members.id'], name=op.f('fk_lesson_ratings_member_id_members')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_ratings')),
        sa.UniqueConstraint('member_id', 'lesson_id', name=op.f('uq_lesson_ratings_member_id')),
    )
    with op.batch_alter_table('lesson_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_ratings_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lesson_ratings_member_id'), ['member_id'], unique=False)

    op.create_table(
        'session_evaluations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('overall', sa.SmallInteger(), nullable=False),
        sa.Column('comment', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        _score('session_evaluations', 'overall'),
        sa.ForeignKeyConstraint(
            ['member_id'], ['members.id'], name=op.f('fk_session_evaluations_member_id_members')
        ),
        sa.ForeignKeyConstraint(
            ['session_id'], ['training_sessions.id'],
            name=op.f('fk_session_evaluations_session_id_training_sessions'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_session_evaluations')),
        sa.UniqueConstraint(
            'member_id', 'session_id', name=op.f('uq_session_evaluations_member_id')
        ),
    )
    with op.batch_alter_table('session_evaluations', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_session_evaluations_member_id'), ['member_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_session_evaluations_session_id'), ['session_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('session_evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_evaluations_session_id'))
        batch_op.drop_index(batch_op.f('ix_session_evaluations_member_id'))
    op.drop_table('session_evaluations')
    with op.batch_alter_table('lesson_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_ratings_member_id'))
        batch_op.drop_index(batch_op.f('ix_lesson_ratings_lesson_id'))
    op.drop_table('lesson_ratings')
