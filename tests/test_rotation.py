"""Rotation cycles: population, planning cohorts with the safety cap, moving members with
refusals and warnings, confirming (calls and notifies), closing a session, coverage, and the
dashboard: scope for branch secretaries and a query count that does not grow with the data."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from lms.attendance.models import Attendance, AttendanceMethod, AttendanceStatus
from lms.audit.models import AuditLog
from lms.auth.models import Role
from lms.clock import local_today
from lms.extensions import db
from lms.notifications.models import Notification
from lms.org.models import Category, Gender, Member
from lms.reports import services as reports
from lms.rotation import coverage
from lms.rotation.models import Blackout, BlackoutReason, CohortMember
from lms.sessions.models import Enrollment, EnrollmentStatus, SessionStatus
from tests.conftest import csrf_token, login
from tests.factories import (
    make_branch,
    make_cycle,
    make_lesson,
    make_member,
    make_secretary,
    make_session,
    make_shift,
    make_user,
)


def _cohort_sessions(cycle) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(CohortMember.member_id, sa.literal_column("cohorts.session_id"))
        .join_from(CohortMember, CohortMember.cohort)
        .where(CohortMember.cycle_id == cycle.id, CohortMember.removed_at.is_(None))
    )
    return dict(rows.all())


def test_population_follows_categories_and_activity():
    cycle = make_cycle(categories={Category.MEMBER})
    keep = make_member(category=Category.MEMBER)
    make_member(category=Category.YOUTH)
    make_member(category=Category.MEMBER, active=False)
    assert [m.id for m in db.session.scalars(coverage.population(cycle))] == [keep.id]


def test_planning_respects_the_safety_cap_and_explains_the_rest(client, organizer):
    shift = make_shift()
    branch = make_branch()
    members = [make_member(shift=shift, branch=branch) for _ in range(10)]
    cycle = make_cycle(cap_share="0.30")
    first = make_session(start=date(2030, 3, 1), status=SessionStatus.PLANNED)
    second = make_session(start=date(2030, 4, 1), status=SessionStatus.PLANNED)
    db.session.add(
        Blackout(
            member_id=members[0].id,
            start_date=date(2030, 1, 1),
            end_date=date(2030, 12, 31),
            reason=BlackoutReason.ON_LEAVE,
        )
    )
    db.session.flush()
    response = client.post(f"/rotation/cycles/{cycle.id}/plan")
    assert response.status_code == 302
    placed = _cohort_sessions(cycle)
    # A shift of 10 at 30 %: at most 3 per session, so 6 placed over two sessions.
    assert sorted(list(placed.values()).count(s.id) for s in (first, second)) == [3, 3]
    assert members[0].id not in placed
    html = client.get(f"/rotation/cycles/{cycle.id}").get_data(as_text=True)
    assert "值班/休假日期内" in html and "安全比例上限" in html
    # Planning again gives the same plan.
    client.post(f"/rotation/cycles/{cycle.id}/plan")
    assert _cohort_sessions(cycle) == placed


def test_moving_into_a_full_session_is_refused_and_past_the_cap_needs_consent(client, organizer):
    shift = make_shift()
    branch = make_branch()
    members = [make_member(shift=shift, branch=branch) for _ in range(10)]
    cycle = make_cycle()
    target = make_session(start=date(2030, 3, 1), status=SessionStatus.PLANNED, capacity=20)
    make_session(start=date(2030, 4, 1), status=SessionStatus.PLANNED, capacity=20)
    client.post(f"/rotation/cycles/{cycle.id}/plan")
    outsider = next(m for m in members if _cohort_sessions(cycle).get(m.id) != target.id)
    data = {"staff_no": outsider.staff_no, "session_id": target.id}
    html = client.post(f"/rotation/cycles/{cycle.id}/move", data=data, follow_redirects=True)
    assert "超过安全比例" in html.get_data(as_text=True)
    assert _cohort_sessions(cycle)[outsider.id] != target.id
    client.post(f"/rotation/cycles/{cycle.id}/move", data={**data, "force": "y"})
    assert _cohort_sessions(cycle)[outsider.id] == target.id
    # History: the earlier row is kept, ended.
    rows = db.session.scalars(
        sa.select(CohortMember).where(CohortMember.member_id == outsider.id)
    ).all()
    assert len(rows) == 2 and sum(r.removed_at is None for r in rows) == 1

    tiny = make_session(start=date(2030, 5, 1), status=SessionStatus.PLANNED, capacity=1)
    filler = make_member(branch=branch)
    client.post(
        f"/rotation/cycles/{cycle.id}/move",
        data={"staff_no": filler.staff_no, "session_id": tiny.id, "force": "y"},
    )
    html = client.post(
        f"/rotation/cycles/{cycle.id}/move",
        data={"staff_no": members[0].staff_no, "session_id": tiny.id, "force": "y"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已满员" in html
    assert _cohort_sessions(cycle).get(members[0].id) != tiny.id


def test_confirming_calls_and_notifies(client, organizer):
    members = [make_member() for _ in range(3)]
    cycle = make_cycle()
    session = make_session(start=date(2030, 3, 1), status=SessionStatus.OPEN)
    client.post(f"/rotation/cycles/{cycle.id}/plan")
    client.post(f"/rotation/cycles/{cycle.id}/confirm")
    enrolled = db.session.scalars(
        sa.select(Enrollment).where(Enrollment.cycle_id == cycle.id)
    ).all()
    assert {e.member_id for e in enrolled} == {m.id for m in members}
    assert all(e.session_id == session.id for e in enrolled)
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 3
    states = coverage.coverage_states(cycle)
    assert set(states.values()) == {coverage.Coverage.PLANNED}
    # Planning again leaves the called alone.
    client.post(f"/rotation/cycles/{cycle.id}/plan")
    assert db.session.scalar(sa.select(sa.func.count(Enrollment.id))) == 3


def _xlsx_states(client, cycle) -> list[str]:
    from openpyxl import load_workbook

    data = client.get(f"/reports/cycles/{cycle.id}/members.xlsx").data
    sheet = load_workbook(io.BytesIO(data)).active
    return [row[-1] for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_a_draft_plan_is_not_planned_until_confirmed_and_can_be_discarded(
    client, organizer, csrf_enabled
):
    members = [make_member() for _ in range(3)]
    cycle = make_cycle()
    make_session(start=date(2030, 3, 1), status=SessionStatus.OPEN)
    token = csrf_token(client, f"/rotation/cycles/{cycle.id}")
    client.post(f"/rotation/cycles/{cycle.id}/plan", data={"csrf_token": token})
    assert len(_cohort_sessions(cycle)) == len(members)
    # Drafted, not yet planned: the cycle page, the dashboard and the export agree.
    assert set(coverage.coverage_states(cycle).values()) == {coverage.Coverage.UNPLANNED}
    assert reports.dashboard(cycle, None).counts["planned"] == 0
    assert "已安排" not in _xlsx_states(client, cycle)
    html = client.get(f"/rotation/cycles/{cycle.id}").get_data(as_text=True)
    assert "放弃方案" in html and "data-confirm" in html

    # Discarding needs the CSRF token and the organizer role.
    assert client.post(f"/rotation/cycles/{cycle.id}/discard").status_code == 400
    trainee = make_user(roles={Role.TRAINEE}, member=make_member())
    login(client, trainee)
    forbidden = client.post(f"/rotation/cycles/{cycle.id}/discard", data={"csrf_token": token})
    assert forbidden.status_code == 403 and _cohort_sessions(cycle)
    login(client, organizer)
    token = csrf_token(client, f"/rotation/cycles/{cycle.id}")
    response = client.post(
        f"/rotation/cycles/{cycle.id}/discard", data={"csrf_token": token}, follow_redirects=True
    )
    assert "已放弃未确认的方案" in response.get_data(as_text=True)
    assert _cohort_sessions(cycle) == {} and cycle.plan_notes == {}
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "cycle.plan_discarded"))
    assert audit is not None and audit.actor_id == organizer.id

    # Confirmed cohorts count as planned, and discarding leaves them alone.
    client.post(f"/rotation/cycles/{cycle.id}/plan", data={"csrf_token": token})
    client.post(f"/rotation/cycles/{cycle.id}/confirm", data={"csrf_token": token})
    assert set(coverage.coverage_states(cycle).values()) == {coverage.Coverage.PLANNED}
    assert set(_xlsx_states(client, cycle)) == {"已安排"}
    client.post(f"/rotation/cycles/{cycle.id}/discard", data={"csrf_token": token})
    assert reports.dashboard(cycle, None).counts["planned"] == len(members) + 1  # + the trainee


def test_completing_a_session_marks_completed_and_absent(client, organizer):
    cycle = make_cycle()
    session = make_session(start=date(2030, 3, 1), status=SessionStatus.IN_PROGRESS)
    lessons = [make_lesson(session=session), make_lesson(session=session, day=date(2030, 3, 2))]
    present, missing = make_member(), make_member()
    from lms.rotation.enrollment import enroll

    for member in (present, missing):
        enroll(session, member, cycle_id=cycle.id)
    for lesson in lessons:
        db.session.add(
            Attendance(
                member_id=present.id,
                lesson_id=lesson.id,
                status=AttendanceStatus.LATE,
                method=AttendanceMethod.MANUAL,
            )
        )
    db.session.add(
        Attendance(
            member_id=missing.id,
            lesson_id=lessons[0].id,
            status=AttendanceStatus.PRESENT,
            method=AttendanceMethod.MANUAL,
        )
    )
    db.session.flush()
    client.post(f"/sessions/{session.id}/status?to=completed")
    statuses = dict(db.session.execute(sa.select(Enrollment.member_id, Enrollment.status)).all())
    assert statuses == {present.id: EnrollmentStatus.COMPLETED, missing.id: EnrollmentStatus.ABSENT}
    states = coverage.coverage_states(cycle)
    assert states[present.id] == coverage.Coverage.TRAINED
    assert states[missing.id] == coverage.Coverage.UNPLANNED  # to be planned for make-up


def test_dashboard_counts_and_secretary_scope(client):
    own_branch, other_branch = make_branch(), make_branch()
    secretary = make_secretary(own_branch)
    mine = [make_member(branch=own_branch) for _ in range(2)]
    theirs = make_member(branch=other_branch)
    cycle = make_cycle()
    login(client, secretary)
    html = client.get(f"/reports/cycles/{cycle.id}").get_data(as_text=True)
    assert "<svg" in html
    board = reports.dashboard(cycle, {own_branch.id})
    assert board.total == 3  # two members and the secretary
    listed = client.get(f"/reports/cycles/{cycle.id}/members").get_data(as_text=True)
    assert mine[0].staff_no in listed and theirs.staff_no not in listed
    other = client.get(f"/reports/cycles/{cycle.id}/members?group=branch&key={other_branch.id}")
    assert other.status_code == 403
    assert client.get(f"/reports/cycles/{cycle.id}/members?group=nonsense").status_code == 404
    assert client.get(f"/reports/cycles/{cycle.id}/members?state=bogus").status_code == 404
    export = client.get(f"/reports/cycles/{cycle.id}/members.xlsx?state=untrained")
    assert export.status_code == 200 and export.mimetype.endswith("sheet")
    login(client, make_user(roles={Role.TRAINEE}, member=make_member()))
    assert client.get(f"/reports/cycles/{cycle.id}").status_code == 403


def _add_members(count: int, branch, shift) -> None:
    start = db.session.scalar(sa.select(sa.func.count(Member.id)))
    db.session.execute(
        sa.insert(Member),
        [
            {
                "staff_no": f"Q{start + n:07d}",
                "name": f"学员{n}",
                "gender": Gender.MALE,
                "department_id": branch.department_id,
                "branch_id": branch.id,
                "shift_id": shift.id,
                "category": Category.MEMBER,
                "active": True,
            }
            for n in range(count)
        ],
    )


def _queries_for_dashboard(app, cycle) -> int:
    statements = []

    def count(*_args):
        statements.append(1)

    db.session.expire_all()  # as in a fresh request: nothing loaded yet
    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        reports.dashboard(cycle, None)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_dashboard_query_count_does_not_grow_with_members(app):
    branch, shift = make_branch(), make_shift()
    cycle = make_cycle(required_hours="8")
    session = make_session(start=date(2030, 3, 1))
    make_lesson(session=session)
    _add_members(50, branch, shift)
    small = _queries_for_dashboard(app, cycle)
    _add_members(4950, branch, shift)
    large = _queries_for_dashboard(app, cycle)
    assert reports.dashboard(cycle, None).total == 5000
    assert small == large


def test_blackouts_are_registered_and_refused_when_backwards(client, organizer):
    member = make_member()
    data = {
        "staff_no": member.staff_no,
        "start_date": "2030-03-01",
        "end_date": "2030-03-31",
        "reason": "on_duty",
        "note": "大修",
    }
    assert client.post("/rotation/blackouts", data=data).status_code == 302
    blackout = db.session.scalar(sa.select(Blackout))
    assert blackout.member_id == member.id and blackout.note == "大修"
    html = client.post("/rotation/blackouts", data={**data, "end_date": "2030-02-01"}).get_data(
        as_text=True
    )
    assert "结束日期不能早于开始日期" in html
    client.post(f"/rotation/blackouts/{blackout.id}/delete")
    assert db.session.scalar(sa.select(sa.func.count(Blackout.id))) == 0


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2026, 1, 1), date(2026, 12, 31)), (date(2026, 3, 1), date(2026, 8, 31))],
    ids=["calendar-year", "part-year"],
)
def test_kept_totals_follow_every_attendance_change(client, organizer, start, end):
    cycle = make_cycle(required_hours="2", start=start, end=end)
    session = make_session(start=date(2026, 6, 1), status=SessionStatus.IN_PROGRESS)
    lesson = make_lesson(session=session)  # a 2-hour course
    member = make_member()
    from lms.rotation.enrollment import enroll

    enroll(session, member, cycle_id=cycle.id)
    ids = sa.select(Member.id).where(Member.id == member.id)
    key = f"a-{member.id}-{lesson.id}"
    client.post(f"/attendance/sessions/{session.id}", data={key: "late"})
    assert coverage.cycle_hours(cycle, ids) == {member.id: 2}
    board = reports.dashboard(cycle, None)
    assert board.attendance.rate == 100 and board.hours_bins[0] == ("0–4", 1)
    client.post(f"/attendance/sessions/{session.id}", data={key: "absent"})
    assert coverage.cycle_hours(cycle, ids) == {}
    assert reports.dashboard(cycle, None).attendance.rate == 0


def test_dashboard_says_attendance_is_unrecorded_rather_than_a_rate(client, organizer):
    from lms.rotation.enrollment import enroll

    today = local_today()
    cycle = make_cycle(start=today - timedelta(days=90), end=today + timedelta(days=90))
    held = make_session(start=today - timedelta(days=30), status=SessionStatus.IN_PROGRESS)
    forgotten = make_session(start=today - timedelta(days=5), status=SessionStatus.OPEN)
    member = make_member()
    for session in (held, forgotten):
        lesson = make_lesson(session=session)
        enroll(session, member, cycle_id=None)
    html = client.get(f"/reports/cycles/{cycle.id}").get_data(as_text=True)
    assert "出勤率：<strong>未记录</strong>" in html
    assert "100%" not in html and "0.0%" not in html
    # One session with attendance: its rate, and the session without any is named, not counted.
    first = held.lessons[0]
    client.post(f"/attendance/sessions/{held.id}", data={f"a-{member.id}-{first.id}": "present"})
    html = client.get(f"/reports/cycles/{cycle.id}").get_data(as_text=True)
    assert "出勤率：<strong>100.0%</strong>" in html
    assert "未记录考勤" in html and forgotten.title in html
    assert lesson.session is forgotten


@pytest.mark.parametrize(
    "query",
    [
        "group=branch&key=99999999999999999999",
        "group=shift&key=2147483648",
        "group=department&key=-1",
        "group=branch&key=%C2%B2",  # a superscript two: a "digit" int() refuses
    ],
)
def test_drill_down_keys_beyond_any_id_are_not_found(client, organizer, query):
    cycle = make_cycle()
    assert client.get(f"/reports/cycles/{cycle.id}/members?{query}").status_code == 404
    assert client.get(f"/reports/cycles/{cycle.id}/members.xlsx?{query}").status_code == 404


def test_exports_survive_titles_excel_cannot_take(client, organizer):
    from openpyxl import load_workbook

    from lms.rotation.enrollment import enroll

    title = "a/b\\c?d*e[f]g:h\x01期次名称非常非常非常非常非常非常非常长"
    cycle = make_cycle(name=title[:60])
    member = make_member(name="王\x01五")
    session = make_session(title="第[1]期:\x02测试", start=date(2026, 6, 1))
    lesson = make_lesson(session=session)
    enroll(session, member, cycle_id=cycle.id)
    client.post(
        f"/attendance/sessions/{session.id}", data={f"a-{member.id}-{lesson.id}": "present"}
    )
    for url in (
        f"/reports/cycles/{cycle.id}/members.xlsx",
        f"/reports/cycles/{cycle.id}/hours.xlsx",
        f"/reports/cycles/{cycle.id}/attendance.xlsx",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        book = load_workbook(io.BytesIO(response.data))
        name = book.sheetnames[0]
        assert len(name) <= 31 and not set(name) & set("/\\?*[]:\x01"), name
        text = [v for row in book.active.iter_rows(values_only=True) for v in row if v]
        assert "王五" in text and not any("\x01" in str(v) or "\x02" in str(v) for v in text)
    exported = load_workbook(
        io.BytesIO(client.get(f"/reports/cycles/{cycle.id}/attendance.xlsx").data)
    )
    assert "第[1]期:测试" in [c for row in exported.active.iter_rows(values_only=True) for c in row]


def test_dashboard_charts_and_tables_are_readable_on_a_phone(client, organizer):
    import re

    from lms.charts import columns, stacked_bars

    # Shown at most 36rem wide and about 340 px on a 375 px phone: text must stay ≥ 11 px there.
    for svg in (
        stacked_bars([("发电一部第一党支部（很长的名称）", [1, 2, 3])], ["甲", "乙", "丙"], "t"),
        columns([(str(n), n) for n in range(8)], "t"),
    ):
        width = float(re.search(r'viewBox="0 0 (\d+)', svg).group(1))
        sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)"', svg)]
        assert sizes and min(sizes) * 340 / width >= 11, (width, sizes)
    cycle = make_cycle()
    make_member()
    html = client.get(f"/reports/cycles/{cycle.id}").get_data(as_text=True)
    assert '<tr class="text-nowrap">' in html and 'class="tap-target"' in html
    assert "…" in stacked_bars([("发电一部第一党支部很长的名称", [1])], ["甲"], "t")


def test_unplaced_list_is_grouped_by_reason_with_its_fix_and_paged(client, login_as):
    from lms.rotation import planner
    from lms.rotation.views.cycles import UNPLACED_PER_PAGE
    from tests.factories import make_cycle, make_member

    login_as(Role.ORGANIZER)
    cycle = make_cycle()
    full = [make_member(name=f"候补{n}") for n in range(UNPLACED_PER_PAGE + 5)]
    blocked = make_member(name="值班中")
    notes = {str(m.id): planner.Reason.CAPACITY.value for m in full}
    notes[str(blocked.id)] = planner.Reason.BLACKOUT.value
    cycle.plan_notes = {"unplaced": notes}
    db.session.flush()
    html = client.get(f"/rotation/cycles/{cycle.id}").get_data(as_text=True)
    assert "可选期次都已满员" in html and "可选期次都在其值班/休假日期内" in html
    assert 'href="/sessions/new"' in html and 'href="/rotation/blackouts"' in html
    # The blackout group comes first (most specific) and is shown; the full ones are a count.
    assert "值班中" in html and "候补0" not in html
    capacity = client.get(f"/rotation/cycles/{cycle.id}?reason=capacity").get_data(as_text=True)
    assert capacity.count("候补") == UNPLACED_PER_PAGE and "第 1 / 2 页" in capacity
    second = client.get(f"/rotation/cycles/{cycle.id}?reason=capacity&page=2")
    assert second.get_data(as_text=True).count("候补") == 5
    english = client.get(f"/rotation/cycles/{cycle.id}", headers={"Accept-Language": "en"})
    assert "Add a session" in english.get_data(as_text=True)
