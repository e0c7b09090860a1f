"""Every download's Content-Disposition (lms.files.content_disposition): the real, Chinese name
as `filename*` and beside it an ASCII name a person can still recognise, never ".png" or
"202610-.zip"."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import unquote

import pytest

from lms.auth.models import Role
from lms.certificates import eligibility, issuing, rendering
from lms.files import ascii_filename
from lms.materials.models import Visibility
from tests import samples
from tests.conftest import login
from tests.factories import (
    make_bank,
    make_course,
    make_cycle,
    make_enrollment,
    make_lesson,
    make_material,
    make_member,
    make_question,
    make_quiz,
    make_session,
    make_user,
)


@pytest.mark.parametrize(
    ("name", "stem", "expected"),
    [
        ("党课.png", "", "download.png"),
        (".png", "", "download.png"),
        ("202610-结业证书.zip", "", "202610.zip"),
        (
            "2026年第11期-签到表.xlsx",
            "session-12-sign-in-sheet",
            "session-12-sign-in-sheet-2026-11.xlsx",
        ),
        ("题库.gift.txt", "bank-3", "bank-3.gift.txt"),
        ("讲义 report v2.pdf", "material-4", "material-4-report-v2.pdf"),
        ('-a"b-.pdf', "", "a-b.pdf"),
        ("无扩展名", "", "download"),
    ],
)
def test_ascii_fallback_names(name, stem, expected):
    assert ascii_filename(name, stem) == expected


def _names(response) -> tuple[str, str]:
    header = response.headers["Content-Disposition"]
    fallback = re.search(r'filename="([^"]*)"', header).group(1)
    real = unquote(re.search(r"filename\*=UTF-8''(\S+)", header).group(1))
    return fallback, real


def test_every_download_has_a_meaningful_ascii_name_beside_the_real_one(client):
    user = make_user(roles={Role.ADMIN, Role.ORGANIZER})
    login(client, user)
    session = make_session(title="2026年第11期")
    lesson = make_lesson(session=session, course=make_course(hours="2"))
    member = make_member(name="王𠮷祥")
    make_enrollment(session, member)
    (certificate,) = issuing.issue_batch(
        [eligibility.Eligibility(member=member, eligible=True, hours=Decimal(2))], session=session
    )
    picture = make_material(
        uploader=user,
        lesson=lesson,
        visibility=Visibility.ALL,
        name="党课.png",
        content=samples.png(),
    )
    bank = make_bank(name="党章题库")
    quiz = make_quiz([make_question(bank)], session=session, title="结业测试")
    cycle = make_cycle(name="2026年轮训")
    html, css = rendering.default_template()
    routes = {
        f"/materials/{picture.id}/file": (f"material-{picture.id}.png", "党课.png"),
        f"/certificates/{certificate.id}.pdf": (
            f"certificate-{certificate.serial}.pdf",
            f"{certificate.serial}.pdf",
        ),
        f"/certificates/sessions/{session.id}/certificates.zip": (
            f"session-{session.id}-certificates-2026-11.zip",
            "2026年第11期-结业证书.zip",
        ),
        f"/certificates/sessions/{session.id}/combined.pdf": (
            f"session-{session.id}-certificates-print-2026-11.pdf",
            "2026年第11期-结业证书（打印）.pdf",
        ),
        f"/attendance/sessions/{session.id}/sheet.xlsx": (
            f"session-{session.id}-sign-in-sheet-2026-11.xlsx",
            "2026年第11期-签到表.xlsx",
        ),
        f"/attendance/sessions/{session.id}/sheet.pdf": (
            f"session-{session.id}-sign-in-sheet-2026-11.pdf",
            "2026年第11期-签到表.pdf",
        ),
        f"/attendance/sessions/{session.id}/export.xlsx": (
            f"session-{session.id}-attendance-2026-11.xlsx",
            "2026年第11期-考勤.xlsx",
        ),
        f"/sessions/{session.id}/timetable.ics": (
            f"session-{session.id}-timetable-2026-11.ics",
            "2026年第11期.ics",
        ),
        "/members/import/template.xlsx": ("roster-template.xlsx", "花名册导入模板.xlsx"),
        f"/quizzes/banks/{bank.id}/export.xlsx": (f"bank-{bank.id}.xlsx", "党章题库.xlsx"),
        f"/quizzes/banks/{bank.id}/export.gift": (f"bank-{bank.id}.gift.txt", "党章题库.gift.txt"),
        "/quizzes/import-template.xlsx": ("question-template.xlsx", "题目导入模板.xlsx"),
        f"/quizzes/{quiz.id}/stats.xlsx": (f"quiz-{quiz.id}-stats.xlsx", "结业测试-统计.xlsx"),
        f"/reports/cycles/{cycle.id}/members.xlsx": (
            f"cycle-{cycle.id}-progress-2026.xlsx",
            "2026年轮训-进度.xlsx",
        ),
        f"/reports/cycles/{cycle.id}/hours.xlsx": (
            f"cycle-{cycle.id}-hours-2026.xlsx",
            "2026年轮训-学时.xlsx",
        ),
        f"/reports/cycles/{cycle.id}/attendance.xlsx": (
            f"cycle-{cycle.id}-attendance-2026.xlsx",
            "2026年轮训-考勤.xlsx",
        ),
    }
    for url, expected in routes.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert _names(response) == expected, url
    export = client.get("/members/export.xlsx")
    fallback, real = _names(export)
    assert re.fullmatch(r"roster-\d{4}-\d\d-\d\d\.xlsx", fallback) and real.startswith("花名册_")
    preview = client.post(
        "/certificates/template", data={"action": "preview", "html": html, "css": css}
    )
    assert _names(preview) == ("preview.pdf", "预览.pdf")
