"""The `lms` operator commands."""

import subprocess
import sys

import pytest

from lms.auth.models import Role, User
from lms.extensions import db
from lms.org.models import Branch, Department, Member, Shift, branch_secretaries
from lms.sessions.models import Enrollment, Lesson, TrainingSession


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_content_load_is_idempotent(runner):
    first = runner.invoke(args=["content", "load"])
    assert first.exit_code == 0, first.output
    assert "members: 300 new" in first.output
    assert "Organizer@2026" in first.output
    counts = (_count(Department), _count(Branch), _count(Shift), _count(Member), _count(User))
    assert counts == (4, 12, 6, 300, 6)
    assert db.session.scalar(db.select(db.func.count()).select_from(branch_secretaries)) == 12
    timetable = (_count(TrainingSession), _count(Lesson), _count(Enrollment))
    assert timetable == (3, 13, 13)
    second = runner.invoke(args=["content", "load", "--quiet"])
    assert second.exit_code == 0
    assert "members: 0 new, 0 updated, 300 unchanged" in second.output
    assert "sessions: 0 new" in second.output
    assert (
        _count(Department),
        _count(Branch),
        _count(Shift),
        _count(Member),
        _count(User),
    ) == counts
    assert (_count(TrainingSession), _count(Lesson), _count(Enrollment)) == timetable


def test_demo_content_has_every_category_and_rare_names(runner):
    runner.invoke(args=["content", "load", "--quiet"])
    categories = set(db.session.scalars(db.select(Member.category).distinct()))
    assert len(categories) == 7
    names = set(db.session.scalars(db.select(Member.name)))
    for rare in ("𠮷", "喆", "堃", "昇", "玥"):
        assert any(rare in name for name in names), rare
    secretary = db.session.scalar(db.select(User).where(User.username == "secretary"))
    assert secretary.roles == {Role.SECRETARY, Role.TRAINEE} and secretary.member is not None


def test_demo_accounts_log_in(runner, client):
    runner.invoke(args=["content", "load", "--quiet"])
    for username, password in [("organizer", "Organizer@2026"), ("trainee", "Trainee@2026")]:
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302 and response.location == "/"
        client.post("/logout")


def test_create_admin(runner):
    result = runner.invoke(args=["user", "create-admin", "boss", "--password", "Strong#2026"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.username == "boss"))
    assert user.roles == {Role.ADMIN} and user.check_password("Strong#2026")
    again = runner.invoke(args=["user", "create-admin", "boss", "--password", "Strong#2026"])
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(args=["user", "create-admin", "boss2", "--password", "short"])
    assert short.exit_code != 0


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["db", "upgrade", "--help"],
        ["content", "load", "--help"],
        ["user", "create-admin", "--help"],
        ["members", "import", "--help"],
    ],
)
def test_commands_have_help(command):
    result = subprocess.run(
        [sys.executable, "-m", "lms.cli", *command],
        capture_output=True,
        text=True,
        check=False,
        env={"LMS_INSTANCE_PATH": "/tmp/lms-help-test", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_reports_rebuild_repairs_the_attendance_totals(runner):
    from decimal import Decimal

    import sqlalchemy as sa

    from lms.attendance.models import AttendanceTotal, MemberYearTotal

    runner.invoke(args=["content", "load", "--quiet"])
    before = db.session.execute(
        sa.select(AttendanceTotal.member_id, AttendanceTotal.session_id, AttendanceTotal.hours)
    ).all()
    assert before  # the demo has attended lessons
    member_id, session_id, hours = before[0]
    db.session.execute(
        sa.update(AttendanceTotal)
        .where(AttendanceTotal.member_id == member_id, AttendanceTotal.session_id == session_id)
        .values(hours=hours + Decimal(99))
    )
    db.session.execute(sa.delete(MemberYearTotal).where(MemberYearTotal.member_id == member_id))
    db.session.commit()

    result = runner.invoke(args=["reports", "rebuild"])

    assert result.exit_code == 0, result.output
    assert f"{len(before)} member-session totals" in result.output
    db.session.expire_all()
    after = db.session.execute(
        sa.select(AttendanceTotal.member_id, AttendanceTotal.session_id, AttendanceTotal.hours)
    ).all()
    assert sorted(after) == sorted(before)
    assert db.session.scalar(
        sa.select(MemberYearTotal.hours).where(MemberYearTotal.member_id == member_id)
    )
