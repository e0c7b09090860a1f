"""Training evaluation (教学评估): who may rate, what is refused, what each reader sees, the
averages, the Excel exports and both languages."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import openpyxl
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from lms.attendance.models import AttendanceStatus
from lms.auth.models import Role, User
from lms.charts import average_bars
from lms.clock import local_today
from lms.evaluation import results, services
from lms.evaluation.models import LessonRating, SessionEvaluation
from lms.extensions import db
from lms.sessions.models import EnrollmentStatus, SessionStatus
from tests.conftest import login
from tests.factories import (
    make_attendance,
    make_course,
    make_enrollment,
    make_lesson,
    make_member,
    make_session,
    make_user,
)


def attend(member, lesson, status=AttendanceStatus.PRESENT):
    make_attendance(member, lesson, status.value)


@dataclass
class Course:
    session: object
    lessons: list  # [lecturer's, other lecturer's]
    lecturer: object
    other_lecturer: object
    trainees: list  # users; all attended both lessons
    partial: object  # user who attended only the first lesson (late)


@pytest.fixture
def course() -> Course:
    lecturer = make_user(roles={Role.LECTURER})
    lecturer.display_name = "李讲师"
    other = make_user(roles={Role.LECTURER})
    other.display_name = "赵讲师"
    session = make_session(
        start=local_today() - timedelta(days=1), status=SessionStatus.IN_PROGRESS
    )
    first = make_lesson(
        session=session,
        course=make_course(title="学习党章"),
        lecturer=lecturer,
        start=time(8, 30),
        end=time(10, 30),
    )
    second = make_lesson(
        session=session,
        course=make_course(title="廉政教育"),
        lecturer=other,
        day=session.end_date,
        start=time(14),
        end=time(16),
    )
    names = ["王𠮷祥", "陈喆", "刘堃"]
    trainees = []
    for name in names:
        member = make_member(name=name)
        make_enrollment(session, member)
        attend(member, first)
        attend(member, second)
        trainees.append(make_user(roles={Role.TRAINEE}, member=member))
    partial = make_member(name="周昇")
    make_enrollment(session, partial)
    attend(partial, first, AttendanceStatus.LATE)
    attend(partial, second, AttendanceStatus.ABSENT)
    return Course(
        session=session,
        lessons=[first, second],
        lecturer=lecturer,
        other_lecturer=other,
        trainees=trainees,
        partial=make_user(roles={Role.TRAINEE}, member=partial),
    )


def answers(lessons, scores=(5, 4, 3), overall=5, comment="很好", remark=""):
    data = {"overall": str(overall), "comment": comment}
    for lesson in lessons:
        for aspect, score in zip(services.Aspect, scores, strict=True):
            data[f"l{lesson.id}_{aspect}"] = str(score)
        data[f"l{lesson.id}_comment"] = remark
    return data


def stored() -> tuple[int, int]:
    return (
        db.session.scalar(sa.select(sa.func.count(LessonRating.id))),
        db.session.scalar(sa.select(sa.func.count(SessionEvaluation.id))),
    )


def evaluate(user, course, scores_by_lesson, overall=4, comment=""):
    services.submit_evaluation(
        course.session,
        user.member,
        [services.LessonScores(lesson.id, *scores) for lesson, scores in scores_by_lesson],
        overall,
        comment,
    )


# --- the trainee -----------------------------------------------------------------------------


def test_trainee_rates_each_lesson_and_the_session_once(client, course):
    user = course.trainees[0]
    login(client, user)
    url = f"/evaluation/sessions/{course.session.id}"
    page = client.get(url).get_data(as_text=True)
    assert "学习党章" in page and "廉政教育" in page and 'type="radio"' in page
    response = client.post(url, data=answers(course.lessons, remark="案例好"))
    assert response.status_code == 302
    ratings = db.session.scalars(sa.select(LessonRating).order_by(LessonRating.lesson_id)).all()
    assert [(r.lesson_id, r.content, r.lecturer, r.usefulness) for r in ratings] == [
        (lesson.id, 5, 4, 3) for lesson in course.lessons
    ]
    assert ratings[0].comment == "案例好" and ratings[0].member_id == user.member_id
    evaluation = db.session.scalar(sa.select(SessionEvaluation))
    assert (evaluation.overall, evaluation.comment) == (5, "很好")
    assert "已于" in client.get(url).get_data(as_text=True)
    # A second submission is refused and changes nothing.
    again = client.post(url, data=answers(course.lessons, scores=(1, 1, 1), overall=1))
    assert "不能修改" in again.get_data(as_text=True)
    assert stored() == (2, 1)
    assert db.session.scalar(sa.select(SessionEvaluation.overall)) == 5


def test_only_the_lessons_attended_are_rated(client, course):
    login(client, course.partial)
    url = f"/evaluation/sessions/{course.session.id}"
    page = client.get(url).get_data(as_text=True)
    assert "学习党章" in page and "廉政教育" not in page
    assert client.post(url, data=answers(course.lessons[:1])).status_code == 302
    assert db.session.scalar(sa.select(LessonRating.lesson_id)) == course.lessons[0].id


def _not_enrolled(course):
    member = make_member()
    attend(member, course.lessons[0])
    return member, "未参加本期"


def _on_leave(course):
    member = make_member()
    make_enrollment(course.session, member).status = EnrollmentStatus.LEAVE_APPROVED
    attend(member, course.lessons[0])
    return member, "未参加本期"


def _never_attended(course):
    member = make_member()
    make_enrollment(course.session, member)
    attend(member, course.lessons[0], AttendanceStatus.ON_LEAVE)
    return member, "出勤记录"


def _not_over_yet(course):
    course.session.end_date = local_today() + timedelta(days=1)
    return course.trainees[0].member, "最后一天起"


def _cancelled(course):
    course.session.status = SessionStatus.CANCELLED
    return course.trainees[0].member, "已取消"


@pytest.mark.parametrize(
    "situation", [_not_enrolled, _on_leave, _never_attended, _not_over_yet, _cancelled]
)
def test_who_may_not_evaluate(client, course, situation):
    member, reason = situation(course)
    db.session.flush()
    user = next((u for u in course.trainees if u.member_id == member.id), None) or make_user(
        member=member
    )
    login(client, user)
    url = f"/evaluation/sessions/{course.session.id}"
    page = client.get(url)
    assert page.status_code == 403 and reason in page.get_data(as_text=True)
    assert client.post(url, data=answers(course.lessons)).status_code == 403
    with pytest.raises(services.EvaluationError):
        evaluate(user, course, [(lesson, (5, 5, 5)) for lesson in course.lessons])
    assert stored() == (0, 0)
    assert course.session not in services.pending_sessions(member)


def test_completed_session_opens_before_its_last_day(course):
    course.session.end_date = local_today() + timedelta(days=1)
    course.session.status = SessionStatus.COMPLETED
    assert services.evaluation_open(course.session)
    assert services.refusal(course.session, course.trainees[0].member) is None


@pytest.mark.parametrize("bad", ["0", "6", "-1", "abc", "", "3.5", "99999999999999999999"])
def test_scores_outside_one_to_five_are_refused(client, course, bad):
    login(client, course.trainees[0])
    data = answers(course.lessons)
    data[f"l{course.lessons[1].id}_usefulness"] = bad
    response = client.post(f"/evaluation/sessions/{course.session.id}", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "评估未保存" in page
    assert ("请打分" if bad == "" else "分数须为 1 到 5 的整数") in page
    assert stored() == (0, 0)


def test_bad_overall_and_missing_lesson_are_refused(client, course):
    login(client, course.trainees[0])
    url = f"/evaluation/sessions/{course.session.id}"
    data = answers(course.lessons, overall=7)
    assert "分数须为 1 到 5 的整数" in client.post(url, data=data).get_data(as_text=True)
    data = answers(course.lessons[:1])
    assert "请打分" in client.post(url, data=data).get_data(as_text=True)
    assert stored() == (0, 0)


def test_a_lesson_of_another_session_is_refused(client, course):
    other = make_lesson(lecturer=course.lecturer, start=time(18), end=time(19))
    login(client, course.trainees[0])
    data = answers([*course.lessons, other])
    response = client.post(f"/evaluation/sessions/{course.session.id}", data=data)
    assert "不属于您本期所参加课次" in response.get_data(as_text=True)
    assert stored() == (0, 0)
    assert client.get("/evaluation/sessions/999999").status_code == 404


def test_the_service_refuses_bad_scores_and_lessons(course):
    user = course.trainees[0]
    first, second = course.lessons
    cases = [
        [(first, (5, 5, 5))],  # a lesson attended left out
        [(first, (5, 5, 5)), (second, (5, 0, 5))],
        [(first, (5, 5, 5)), (second, (5, 5, True))],
        [(first, (5, 5, 5)), (first, (5, 5, 5))],
    ]
    for scores in cases:
        with pytest.raises(services.EvaluationError):
            evaluate(user, course, scores)
    with pytest.raises(services.EvaluationError):
        evaluate(user, course, [(first, (5, 5, 5)), (second, (5, 5, 5))], overall=6)
    assert stored() == (0, 0)


@pytest.mark.parametrize(
    ("comment", "reason"), [("长" * 501, "太长"), ("好\u202e评", "不可见字符")]
)
def test_comments_are_plain_limited_text(client, course, comment, reason):
    login(client, course.trainees[0])
    data = answers(course.lessons, comment=comment)
    response = client.post(f"/evaluation/sessions/{course.session.id}", data=data)
    assert reason in response.get_data(as_text=True)
    assert stored() == (0, 0)


def test_comment_is_shown_as_text_not_html(client, course):
    evaluate(
        course.trainees[0],
        course,
        [(lesson, (4, 4, 4)) for lesson in course.lessons],
        comment="<script>alert(1)</script>",
    )
    login(client, make_user(roles={Role.ORGANIZER}))
    page = client.get(f"/evaluation/sessions/{course.session.id}/report").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_one_rating_per_member_and_lesson_and_scores_checked_in_the_database(course):
    member = course.trainees[0].member
    lesson = course.lessons[0]

    def add(**scores):
        with db.session.begin_nested():
            db.session.add(LessonRating(lesson_id=lesson.id, member_id=member.id, **scores))
            db.session.flush()

    add(content=5, lecturer=5, usefulness=5)
    with pytest.raises(sa.exc.IntegrityError):
        add(content=4, lecturer=4, usefulness=4)
    other = course.trainees[1].member
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(
            LessonRating(
                lesson_id=lesson.id, member_id=other.id, content=6, lecturer=1, usefulness=1
            )
        )
        db.session.flush()
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(
            SessionEvaluation(session_id=course.session.id, member_id=other.id, overall=0)
        )
        db.session.flush()


def test_home_page_prompts_until_evaluated(client, course):
    user = course.trainees[0]
    login(client, user)
    home = client.get("/").get_data(as_text=True)
    assert "待评估" in home and f"/evaluation/sessions/{course.session.id}" in home
    assert "评估本期" in client.get(f"/sessions/{course.session.id}").get_data(as_text=True)
    evaluate(user, course, [(lesson, (4, 4, 4)) for lesson in course.lessons])
    assert "待评估" not in client.get("/").get_data(as_text=True)
    assert "评估本期" not in client.get(f"/sessions/{course.session.id}").get_data(as_text=True)


# --- what lecturers and organizers see -------------------------------------------------------


def _three_evaluate(course, comment_first=""):
    for n, user in enumerate(course.trainees):
        services.submit_evaluation(
            course.session,
            user.member,
            [
                services.LessonScores(
                    course.lessons[0].id, 5, 4, 3 + n % 2, comment_first if n == 0 else ""
                ),
                services.LessonScores(course.lessons[1].id, 2, 2, 2, "不署名的意见"),
            ],
            4,
            f"总体意见{n}",
        )


def test_lecturer_sees_own_averages_without_names_from_three_ratings(client, course):
    # Two ratings only: nothing shown.
    for user in course.trainees[:2]:
        evaluate(user, course, [(course.lessons[0], (5, 4, 3)), (course.lessons[1], (1, 1, 1))])
    login(client, course.lecturer)
    page = client.get("/evaluation/mine").get_data(as_text=True)
    assert "暂不显示" in page and "4.00" not in page
    # The third: averages and comments of own lessons only, never a name.
    services.submit_evaluation(
        course.session,
        course.trainees[2].member,
        [
            services.LessonScores(course.lessons[0].id, 2, 4, 3, "讲得很清楚"),
            services.LessonScores(course.lessons[1].id, 1, 1, 1, "别人的课"),
        ],
        4,
        "总体意见",
    )
    page = client.get("/evaluation/mine").get_data(as_text=True)
    assert "4.00" in page and "3.67" in page  # content (5+5+2)/3 → 4.00; overall 33/9 → 3.67
    assert "讲得很清楚" in page
    assert "廉政教育" not in page and "别人的课" not in page and "总体意见" not in page
    for user in course.trainees:
        assert user.member.name not in page
    assert "暂不显示" not in page


def test_lecturer_report_hides_lessons_under_three(course):
    _three_evaluate(course)
    report = results.lecturer_report(course.lecturer)
    assert [lesson.id for lesson, _a in report.lessons] == [course.lessons[0].id]
    late = make_lesson(
        session=course.session, lecturer=course.lecturer, start=time(18), end=time(19)
    )
    db.session.add(
        LessonRating(
            lesson_id=late.id,
            member_id=course.partial.member_id,
            content=1,
            lecturer=1,
            usefulness=1,
            comment="只有一份",
        )
    )
    db.session.flush()
    report = results.lecturer_report(course.lecturer)
    shown = {lesson.id: a.shown_to_lecturer for lesson, a in report.lessons}
    assert shown == {course.lessons[0].id: True, late.id: False}
    assert late.id not in report.comments


def test_organizer_sees_names_only_when_the_setting_is_on(client, course):
    _three_evaluate(course, comment_first="第一课很好")
    organizer = make_user(roles={Role.ORGANIZER})
    login(client, organizer)
    url = f"/evaluation/sessions/{course.session.id}/report"
    page = client.get(url).get_data(as_text=True)
    assert "第一课很好" in page and "总体意见0" in page
    assert all(user.member.name not in page for user in course.trainees)
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(url + ".xlsx").data))
    assert sheet["课次评分"]["A1"].value == "时间"
    assert all(
        user.member.name not in str(list(sheet["总体评价"].values)) for user in course.trainees
    )
    assert not results.show_names()

    admin = make_user(roles={Role.ADMIN})
    login(client, admin)
    assert client.get("/evaluation/settings").status_code == 200
    assert client.post("/evaluation/settings", data={"show_names": "y"}).status_code == 302
    assert results.show_names()
    login(client, organizer)
    page = client.get(url).get_data(as_text=True)
    assert all(user.member.name in page for user in course.trainees)
    book = openpyxl.load_workbook(io.BytesIO(client.get(url + ".xlsx").data))
    rows = list(book["总体评价"].values)
    assert rows[0] == ("学员", "总体评价", "意见和建议")
    assert {row[0] for row in rows[1:]} == {user.member.name for user in course.trainees}
    # And off again.
    login(client, admin)
    client.post("/evaluation/settings", data={})
    assert not results.show_names()


def test_overview_report_averages_and_excel(client, course):
    _three_evaluate(course)
    login(client, make_user(roles={Role.ORGANIZER}))
    page = client.get("/evaluation/").get_data(as_text=True)
    assert course.session.title in page and "<svg" in page
    assert "李讲师" in page and "赵讲师" in page and "学习党章" in page
    response = client.get("/evaluation/report.xlsx")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["期次", "课程", "讲师"]
    sessions = list(book["期次"].values)
    assert sessions[0][0] == "期次"
    # 6 ratings: content 5,5,5,2,2,2 → 3.50; lecturer 4,4,4,2,2,2 → 3.00;
    # usefulness 3,4,3,2,2,2 → 2.67; overall 55/18 → 3.06; 3 evaluations of overall 4.
    assert sessions[1] == (course.session.title, 6, 3.5, 3, 2.67, 3.06, 3, 4)
    lecturers = {row[0]: row[1:] for row in list(book["讲师"].values)[1:]}
    assert lecturers["李讲师"] == (3, 5, 4, 3.33, 4.11)
    assert lecturers["赵讲师"] == (3, 2, 2, 2, 2)
    courses = {row[1]: row[2:] for row in list(book["课程"].values)[1:]}
    assert courses["学习党章"][0] == 3


@given(
    st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=60
    )
)
def test_averages_are_exact_means_rounded_half_up(scores):
    averages = results.Averages(len(scores), *(sum(score[i] for score in scores) for i in range(3)))

    for i, name in enumerate(services.Aspect):
        exact = Fraction(sum(s[i] for s in scores), len(scores))
        value = getattr(averages, name)
        assert abs(Fraction(value) - exact) <= Fraction(1, 200)
        assert value == (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    every = [v for s in scores for v in s]
    assert averages.overall == (Decimal(sum(every)) / Decimal(len(every))).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    assert Decimal(1) <= averages.overall <= Decimal(5)
    assert averages.shown_to_lecturer == (len(scores) >= 3)


def test_average_bars_scale_and_escape():
    svg = str(average_bars([("<b>课</b>", Decimal("2.50")), ("空", None)], "标题"))
    assert "&lt;b&gt;" in svg and "<b>" not in svg
    assert "2.50" in svg and "—" in svg


# --- languages -------------------------------------------------------------------------------


def test_pages_in_english(client, course):
    _three_evaluate(course)
    login(client, course.partial)
    en = {"Accept-Language": "en"}
    page = client.get(f"/evaluation/sessions/{course.session.id}", headers=en).get_data(
        as_text=True
    )
    assert "Training evaluation" in page and "Usefulness" in page and "Submit evaluation" in page
    data = answers(course.lessons[:1], scores=(5, 9, 5))
    page = client.post(f"/evaluation/sessions/{course.session.id}", data=data, headers=en)
    assert "whole number from 1 to 5" in page.get_data(as_text=True)
    login(client, course.lecturer)
    page = client.get("/evaluation/mine", headers=en).get_data(as_text=True)
    assert "My evaluations" in page and "fewer than 3" in page
    login(client, make_user(roles={Role.ORGANIZER}))
    page = client.get("/evaluation/", headers=en).get_data(as_text=True)
    assert "By lecturer" in page and "Export to Excel" in page
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/evaluation/report.xlsx", headers=en).data)
    )
    assert book.sheetnames == ["Session", "Course", "Lecturer"]


def test_demo_content_has_evaluations(app):
    from lms.content import load_demo

    load_demo()
    session_row = next(r for r in results.session_rows() if r.label == "2026年第10期")
    assert session_row.evaluations == 5 and session_row.averages.count == 20
    first = [(r.averages.overall, r.session_overall) for r in results.session_rows()]
    load_demo()  # loading again changes nothing
    assert [(r.averages.overall, r.session_overall) for r in results.session_rows()] == first
    trainee = db.session.scalar(sa.select(User).where(User.username == "trainee"))
    assert [s.title for s in services.pending_sessions(trainee.member, date(2026, 12, 3))] == [
        "2026年第10期"
    ]


def test_a_course_total_never_gives_away_a_lesson_under_three(course):
    """Course figures add up only shown lessons: a total minus the shown lesson would reveal
    the one rating of the other."""
    _three_evaluate(course)
    again = make_lesson(
        session=course.session,
        course=course.lessons[0].course,
        lecturer=course.lecturer,
        start=time(18),
        end=time(19),
    )
    db.session.add(
        LessonRating(
            lesson_id=again.id,
            member_id=course.partial.member_id,
            content=1,
            lecturer=1,
            usefulness=1,
        )
    )
    db.session.flush()
    report = results.lecturer_report(course.lecturer)
    (row,) = report.courses
    assert row.averages.count == 3 and row.averages.content == Decimal(5)
