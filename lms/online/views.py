"""Online study pages: the trainee's list and watch page with its heartbeat, and the
organizer's overview, export, recordings and hours rule."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.access import is_organizer, load, roles_required
from lms.auth.models import Role
from lms.excel import build_workbook, xlsx_response
from lms.extensions import db
from lms.forms import bounded_int
from lms.materials import storage
from lms.materials.models import Material
from lms.online import access, playback, services
from lms.online.forms import CreditRulesForm, RecordingForm, parse_duration
from lms.online.models import Recording
from lms.quizzes.models import Quiz, QuizStatus

bp = Blueprint("online", __name__, url_prefix="/online")
bp.app_template_filter("duration")(services.duration_label)


@bp.route("/")
@login_required
def index():
    """线上学习: the recordings I may watch, my missed lessons' first."""
    return render_template(
        "online/index.html",
        items=services.study_list(current_user),
        manages=is_organizer(current_user),
    )


@bp.route("/recordings/<int:recording_id>")
@login_required
def watch(recording_id: int):
    recording = load(Recording, recording_id, access.can_watch)
    progress = None
    member = current_user.member
    if member is not None:
        progress = playback.progress_for(member, recording)
        playback.settle(progress)
    return render_template(
        "online/watch.html",
        recording=recording,
        progress=progress,
        percent=services.percent(recording, progress),
        make_up=progress is not None
        and (progress.made_up or services.missed_lesson(member, recording) is not None),
        quiz_passed=progress is not None and playback.quiz_passed(progress),
        category=services.recording_category(recording).label,
    )


def _refuse(message: str, status: int = 400):
    return jsonify({"error": message}), status


@bp.route("/recordings/<int:recording_id>/heartbeat", methods=["POST"])
@login_required
def heartbeat(recording_id: int):
    recording = load(Recording, recording_id, access.can_watch)
    member = current_user.member
    if member is None:
        return _refuse(_("您的账号未关联学员，学习进度不会记录。"), 403)
    try:
        position = playback.parse_position(request.get_json(silent=True), recording)
    except playback.HeartbeatRefused as refused:
        return _refuse(refused.message, refused.status)
    try:
        progress = playback.progress_for(member, recording, lock=True)
        credited = playback.record_heartbeat(progress, position)
        playback.settle(progress)
    except sa.exc.OperationalError as error:
        # SQLite: two heartbeats of one viewer at once; the one that lost changes nothing.
        if "locked" not in str(error):
            raise
        return _refuse(_("同时收到多个进度请求，请稍后重试。"), 409)  # a 409: nothing is kept
    return jsonify({**playback.state_of(progress), "credited_now": round(credited, 1)})


# --- organizers ------------------------------------------------------------------------------


@bp.route("/manage")
@roles_required(Role.ORGANIZER)
def manage():
    """线上学习情况: who is studying what."""
    recording_id = request.args.get("recording", type=bounded_int)
    recordings = db.session.scalars(sa.select(Recording).order_by(Recording.created_at.desc()))
    return render_template(
        "online/manage.html",
        rows=services.study_rows(recording_id),
        recordings=list(recordings),
        recording_id=recording_id,
        percent=services.percent,
    )


@bp.route("/manage/export.xlsx")
@roles_required(Role.ORGANIZER)
def export():
    recording_id = request.args.get("recording", type=bounded_int)
    header = [
        _("工号"),
        _("姓名"),
        _("党支部"),
        _("录像"),
        _("进度（%）"),
        _("已看完"),
        _("补学"),
        _("认定学时"),
        _("最近学习"),
    ]
    rows = [
        [
            p.member.staff_no,
            p.member.name,
            p.member.branch.name if p.member.branch else "",
            p.recording.title,
            services.percent(p.recording, p),
            _("是") if p.watched_through_at else _("否"),
            _("是") if p.made_up else "",
            float(p.credited_hours) if p.credited_at else "",
            services.to_local_text(p.last_heartbeat_at),
        ]
        for p in services.study_rows(recording_id)
    ]
    data = build_workbook([(_("线上学习情况"), header, rows)])
    return xlsx_response(_("线上学习情况.xlsx"), data, "online-study")


@bp.route("/recordings/new", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER)
def new_recording():
    quizzes = db.session.scalars(
        sa.select(Quiz)
        .where(Quiz.status == QuizStatus.PUBLISHED, Quiz.practice.is_(False))
        .order_by(Quiz.title)
    ).all()
    form = RecordingForm(materials=services.video_materials(), quizzes=quizzes)
    if form.validate_on_submit():
        material = db.session.get(Material, form.material_id.data)
        quiz = db.session.get(Quiz, form.quiz_id.data) if form.quiz_id.data else None
        seconds = parse_duration(form.duration.data or "")
        if seconds is None:
            path = storage.material_path(material.current.sha256)
            with path.open("rb") as stream:
                seconds = services.mp4_duration(stream)
        problem = services.quiz_problem(quiz, material)
        if problem:
            form.quiz_id.errors.append(problem)
        elif not seconds or seconds > services.MAX_DURATION_SECONDS:
            form.duration.errors.append(_("无法从视频文件读取时长，请填写时长。"))
        else:
            category = form.credit_category.data
            recording = services.create_recording(
                current_user,
                material,
                (form.title.data or "").strip(),
                seconds,
                quiz,
                category,
            )
            flash(_("已添加录像「%(title)s」。", title=recording.title), "success")
            return redirect(url_for("online.manage"))
    return render_template("online/new_recording.html", form=form)


HOURS_KEYS = ("course", "short", "micro", "quiz")


@bp.route("/rules", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.ORGANIZER)
def rules():
    current = services.credit_rules()
    form = CreditRulesForm(
        data={
            key: Decimal(value) if key not in ("course_minutes", "micro_minutes") else int(value)
            for key, value in current.items()
        }
    )
    if form.validate_on_submit():
        services.save_credit_rules(
            {
                "course_minutes": form.course_minutes.data,
                "micro_minutes": form.micro_minutes.data,
                **{k: getattr(form, k).data.normalize() for k in HOURS_KEYS},
            }
        )
        flash(_("线上学习学时标准已保存。"), "success")
        return redirect(url_for("online.rules"))
    return render_template("online/rules.html", form=form)
