"""调训: enrolling, capacity, one live enrollment per cycle, leave requests and decisions,
absence, make-up sessions, notifications and the trainee's own pages and calendar feed."""

from __future__ import annotations

from datetime import date, time, timedelta

import icalendar
import pytest
import sqlalchemy as sa

from lms.auth.models import Role
from lms.clock import local_today
from lms.extensions import db
from lms.notifications.models import Notification
from lms.rotation import enrollment as service
from lms.rotation.models import RotationCycle
from lms.sessions.models import Enrollment, EnrollmentStatus, SessionStatus
from tests.conftest import login
from tests.factories import make_course, make_lesson, make_member, make_session, make_user


def _trainee():
    return make_user(roles={Role.TRAINEE}, member=make_member())


def test_organizer_adds_members_by_staff_number_and_they_are_notified(client, organizer):
    session = make_session(capacity=2)
    a, b = make_member(), make_member()
    response = client.post(
        f"/rotation/sessions/{session.id}/enrollments",
        data={"staff_nos": f"{a.staff_no}, {b.staff_no}"},
    )
    assert response.status_code == 302
    assert {e.member_id for e in db.session.scalars(sa.select(Enrollment))} == {a.id, b.id}
    notes = db.session.scalars(sa.select(Notification)).all()
    assert {n.member_id for n in notes} == {a.id, b.id} and notes[0].kind == "invited"
    assert session.title in notes[0].text


def test_adding_is_all_or_nothing_and_respects_capacity(client, organizer):
    session = make_session(capacity=1)
    a, b = make_member(), make_member()
    html = client.post(
        f"/rotation/sessions/{session.id}/enrollments",
        data={"staff_nos": f"{a.staff_no} {b.staff_no}"},
    ).get_data(as_text=True)
    assert "已满员" in html
    html = client.post(
        f"/rotation/sessions/{session.id}/enrollments", data={"staff_nos": "nobody 123"}
    ).get_data(as_text=True)
    assert "工号 nobody 不存在" in html
    assert db.session.scalar(sa.select(sa.func.count(Enrollment.id))) == 0


def test_no_double_enrollment_in_one_cycle():
    cycle = RotationCycle(
        name="2026年度全员轮训", start_date=date(2026, 1, 1), end_date=date(2026, 12, 31)
    )
    db.session.add(cycle)
    member = make_member()
    first, second = make_session(), make_session(start=date(2026, 12, 17))
    service.enroll(first, member, cycle_id=cycle.id)
    with pytest.raises(service.EnrollmentError, match="不能重复调训"):
        service.enroll(second, member, cycle_id=cycle.id)
    assert db.session.scalar(sa.select(sa.func.count(Enrollment.id))) == 1


def test_leave_request_approval_and_make_up(client, organizer):
    trainee = _trainee()
    session = make_session(start=date(2030, 3, 1))
    later = make_session(start=date(2030, 4, 1))
    cycle = RotationCycle(name="周期", start_date=date(2030, 1, 1), end_date=date(2030, 12, 31))
    db.session.add(cycle)
    db.session.flush()
    item = service.enroll(session, trainee.member, cycle_id=cycle.id)

    login(client, trainee)
    assert client.post(f"/me/enrollments/{item.id}/leave", data={"reason": ""}).status_code == 200
    assert item.status is EnrollmentStatus.INVITED
    client.post(f"/me/enrollments/{item.id}/leave", data={"reason": "夜班倒班"})
    assert item.status is EnrollmentStatus.LEAVE_REQUESTED and item.leave_reason == "夜班倒班"

    login(client, organizer)
    client.post(f"/rotation/enrollments/{item.id}/leave?decision=approve")
    assert item.status is EnrollmentStatus.LEAVE_APPROVED and item.decided_by_id == organizer.id
    client.post(f"/rotation/enrollments/{item.id}/makeup", data={"session_id": later.id})
    makeup = db.session.scalar(sa.select(Enrollment).where(Enrollment.session_id == later.id))
    assert makeup.makeup_of_id == item.id and makeup.cycle_id == cycle.id
    kinds = [n.kind for n in db.session.scalars(sa.select(Notification).order_by(Notification.id))]
    assert kinds == ["invited", "leave_approved", "makeup"]

    login(client, trainee)
    html = client.get("/me/notifications").get_data(as_text=True)
    assert "补训" in html and "请假已批准" in html


def test_refused_leave_goes_back_to_confirmed(client, organizer):
    trainee = _trainee()
    item = service.enroll(make_session(start=date(2030, 3, 1)), trainee.member)
    service.request_leave(item, "家中有事")
    client.post(f"/rotation/enrollments/{item.id}/leave?decision=refuse")
    assert item.status is EnrollmentStatus.CONFIRMED
    html = client.post(
        f"/rotation/enrollments/{item.id}/leave?decision=approve", follow_redirects=True
    )
    assert "已经处理过了" in html.get_data(as_text=True)


def test_make_up_only_for_the_missed_and_later(client, organizer):
    trainee = _trainee()
    session = make_session(start=date(2026, 3, 1))  # has taken place: absence can be recorded
    item = service.enroll(session, trainee.member)
    earlier = make_session(start=date(2026, 1, 1))
    with pytest.raises(service.EnrollmentError, match="已准假或缺席"):
        service.carry_to_makeup(item, earlier)
    client.post(f"/rotation/enrollments/{item.id}/absent")
    assert item.status is EnrollmentStatus.ABSENT
    with pytest.raises(service.EnrollmentError, match="更晚的期次"):
        service.carry_to_makeup(item, earlier)


def test_cannot_enroll_into_a_finished_session():
    with pytest.raises(service.EnrollmentError, match="已结束或已取消"):
        service.enroll(make_session(status=SessionStatus.COMPLETED), make_member())


def test_another_members_enrollment_is_out_of_reach(client):
    item = service.enroll(make_session(start=date(2030, 3, 1)), make_member())
    login(client, _trainee())
    assert client.post(f"/me/enrollments/{item.id}/leave", data={"reason": "x"}).status_code == 403
    assert client.post(f"/me/enrollments/{item.id}/confirm").status_code == 403
    assert item.status is EnrollmentStatus.INVITED


def test_my_timetable_and_confirming(client):
    trainee = _trainee()
    session = make_session(start=date(2030, 3, 1))
    make_lesson(session=session)
    item = service.enroll(session, trainee.member)
    login(client, trainee)
    html = client.get("/me/timetable").get_data(as_text=True)
    assert session.title in html and "请假" in html
    client.post(f"/me/enrollments/{item.id}/confirm")
    assert item.status is EnrollmentStatus.CONFIRMED


def test_private_calendar_feed_can_be_revoked(client):
    trainee = _trainee()
    session = make_session(start=date(2030, 3, 1))
    lesson = make_lesson(session=session, start=time(8, 30), end=time(11, 30))
    service.enroll(session, trainee.member)
    login(client, trainee)
    client.post("/me/calendar?action=issue")
    token = trainee.calendar_token
    assert token and len(token) >= 40
    anonymous = client.application.test_client()
    feed = anonymous.get(f"/calendar/{token}.ics")
    assert feed.status_code == 200
    events = icalendar.Calendar.from_ical(feed.data).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"lesson-{lesson.id}@party-school.lms"]
    client.post("/me/calendar?action=revoke")
    assert anonymous.get(f"/calendar/{token}.ics").status_code == 404
    assert anonymous.get("/calendar/guess.ics").status_code == 404


def test_only_a_replaced_calendar_address_is_said_to_stop_working(client):
    login(client, _trainee())
    first = client.post("/me/calendar?action=issue", follow_redirects=True)
    assert "已生成订阅地址" in first.get_data(as_text=True)
    assert "旧地址立即失效" not in first.get_data(as_text=True)
    again = client.post("/me/calendar?action=issue", follow_redirects=True)
    assert "已生成新的订阅地址，旧地址立即失效。" in again.get_data(as_text=True)
    client.post("/me/calendar?action=revoke")
    after_revoke = client.post("/me/calendar?action=issue", follow_redirects=True)
    assert "旧地址立即失效" not in after_revoke.get_data(as_text=True)


# Enrollment status → in the session, so its lessons are in the member's timetable and
# calendar feed. A pending leave request means the member is not coming.
IN_SESSION_BY_STATUS = [
    (EnrollmentStatus.INVITED, True),
    (EnrollmentStatus.CONFIRMED, True),
    (EnrollmentStatus.COMPLETED, True),
    (EnrollmentStatus.LEAVE_REQUESTED, False),
    (EnrollmentStatus.LEAVE_APPROVED, False),
    (EnrollmentStatus.ABSENT, False),
]


@pytest.mark.parametrize(("status", "shown"), IN_SESSION_BY_STATUS)
def test_the_timetable_and_feed_show_only_sessions_the_member_is_in(client, status, shown):
    trainee = _trainee()
    session = make_session(start=date(2030, 3, 1))
    lesson = make_lesson(session=session, course=make_course(title="党章精读"))
    service.enroll(session, trainee.member).status = status
    trainee.calendar_token = "t" * 43
    db.session.flush()
    login(client, trainee)
    html = client.get("/me/timetable").get_data(as_text=True)
    assert session.title in html  # the enrollment itself, with its status, stays listed
    assert ("党章精读" in html) is shown
    feed = client.application.test_client().get(f"/calendar/{trainee.calendar_token}.ics")
    events = icalendar.Calendar.from_ical(feed.data).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == (
        [f"lesson-{lesson.id}@party-school.lms"] if shown else []
    )


def test_my_hours_page(client):
    trainee = _trainee()
    login(client, trainee)
    html = client.get("/me/hours?year=2026").get_data(as_text=True)
    assert "年度目标 32 学时" in html
    assert client.get("/me/hours?year=99999").status_code == 404


def _called(session, **dates):
    for name, value in dates.items():
        setattr(session, name, value)
    trainee = _trainee()
    return trainee, service.enroll(session, trainee.member)


@pytest.mark.parametrize(
    ("start_in", "deadline_in", "status", "confirm_message", "leave_message"),
    [
        (-7, None, SessionStatus.OPEN, "本期已开始或已结束，不能再确认参训", "本期已开始或已结束"),
        (0, None, SessionStatus.OPEN, "本期已开始或已结束，不能再确认参训", "本期已开始或已结束"),
        (3, -1, SessionStatus.OPEN, "报名已于", None),  # leave stays possible until the start
        (-1, None, SessionStatus.IN_PROGRESS, "本期已开始或已结束", "本期已开始或已结束"),
    ],
    ids=["ended-still-open", "starts-today", "past-deadline", "in-progress"],
)
def test_trainee_answers_are_refused_once_the_session_has_started(
    client, start_in, deadline_in, status, confirm_message, leave_message
):
    today = local_today()
    session = make_session(start=today + timedelta(days=start_in))
    deadline = today + timedelta(days=deadline_in) if deadline_in is not None else None
    trainee, item = _called(session, enrolment_deadline=deadline)
    session.status = status
    db.session.flush()
    login(client, trainee)
    page = client.get("/me/timetable").get_data(as_text=True)
    assert f"/me/enrollments/{item.id}/confirm" not in page and confirm_message in page
    response = client.post(f"/me/enrollments/{item.id}/confirm", follow_redirects=True)
    assert response.status_code == 200 and confirm_message in response.get_data(as_text=True)
    assert item.status is EnrollmentStatus.INVITED
    response = client.post(
        f"/me/enrollments/{item.id}/leave", data={"reason": "夜班"}, follow_redirects=True
    )
    assert response.status_code == 200
    if leave_message is None:
        assert item.status is EnrollmentStatus.LEAVE_REQUESTED
    else:
        assert leave_message in response.get_data(as_text=True)
        assert item.status is EnrollmentStatus.INVITED and item.leave_reason == ""
        assert f"/me/enrollments/{item.id}/leave" not in page


def test_trainee_may_confirm_before_the_deadline(client):
    today = local_today()
    session = make_session(start=today + timedelta(days=5))
    trainee, item = _called(session, enrolment_deadline=today)
    login(client, trainee)
    client.post(f"/me/enrollments/{item.id}/confirm")
    assert item.status is EnrollmentStatus.CONFIRMED


def test_absence_is_neither_offered_nor_taken_before_the_session_begins(client, organizer):
    trainee = _trainee()
    future = make_session(start=date(2030, 3, 1))
    item = service.enroll(future, trainee.member)
    page = client.get(f"/rotation/sessions/{future.id}/enrollments").get_data(as_text=True)
    assert "记为缺席" not in page
    response = client.post(f"/rotation/enrollments/{item.id}/absent", follow_redirects=True)
    assert "期次还没有开始，不能记为缺席" in response.get_data(as_text=True)
    assert item.status is EnrollmentStatus.INVITED


def test_absence_is_offered_once_the_first_lesson_has_started(client, organizer):
    from lms.clock import local_today
    from tests.factories import make_lesson

    trainee = _trainee()
    today = make_session(start=local_today())
    make_lesson(session=today, start=time(0, 0), end=time(0, 1))
    service.enroll(today, trainee.member)
    page = client.get(f"/rotation/sessions/{today.id}/enrollments")
    assert "记为缺席" in page.get_data(as_text=True)
    later = service.enroll(make_session(start=date(2030, 5, 1)), make_member())
    english = client.post(
        f"/rotation/enrollments/{later.id}/absent",
        headers={"Accept-Language": "en"},
        follow_redirects=True,
    )
    assert "has not begun" in english.get_data(as_text=True)
