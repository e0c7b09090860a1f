"""Online study (线上学习/补学): recordings, viewing progress, and attendance made up online.

Revision ID: 3b7e9c1d4a25
Revises: b7e4c19a5d32
Create Date: 2026-12-03 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b7e9c1d4a25'
down_revision = 'b7e4c19a5d32'
branch_labels = None
depends_on = None

OLD_METHODS = ('qr', 'manual', 'import')
NEW_METHODS = OLD_METHODS + ('online',)


def _method(values):
    return sa.Enum(
        *values, name='attendance_method', native_enum=False, create_constraint=True, length=32
    )


def upgrade():
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.alter_column(
            'method', existing_type=_method(OLD_METHODS), type_=_method(NEW_METHODS), existing_nullable=False
        )
    op.create_table('recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('material_version_id', sa.Integer(), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=True),
    sa.Column('credit_category', sa.Enum('course', 'short', 'micro', name='credit_category', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('duration_seconds > 0 AND duration_seconds <= 86400', name=op.f('ck_recordings_duration_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_recordings_created_by_id_users')),
    sa.ForeignKeyConstraint(['material_version_id'], ['material_versions.id'], name=op.f('fk_recordings_material_version_id_material_versions')),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_recordings_quiz_id_quizzes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordings_material_version_id'), ['material_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_quiz_id'), ['quiz_id'], unique=False)

    op.create_table('viewing_progress',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('position_seconds', sa.Float(), nullable=False),
    sa.Column('watched', sa.JSON(), nullable=False),
    sa.Column('watched_seconds', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('watched_through_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('credited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('credited_hours', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('made_up', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_viewing_progress_member_id_members')),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_viewing_progress_recording_id_recordings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_viewing_progress')),
    sa.UniqueConstraint('member_id', 'recording_id', name=op.f('uq_viewing_progress_member_id'))
    )
    with op.batch_alter_table('viewing_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_viewing_progress_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_viewing_progress_recording_id'), ['recording_id'], unique=False)


def downgrade():
    with op.batch_alter_table('viewing_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_viewing_progress_recording_id'))
        batch_op.drop_index(batch_op.f('ix_viewing_progress_member_id'))
    op.drop_table('viewing_progress')
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_quiz_id'))
        batch_op.drop_index(batch_op.f('ix_recordings_material_version_id'))
    op.drop_table('recordings')
    # Made-up lessons stay attended; they are recorded as manual once "online" is gone.
    op.execute("UPDATE attendance SET method = 'manual' WHERE method = 'online'")
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.alter_column(
            'method', existing_type=_method(NEW_METHODS), type_=_method(OLD_METHODS), existing_nullable=False
        )
