"""Organizer pages for 调训: who is called to a session, leave decisions, absence, make-up."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.access import load, roles_required
from lms.auth.models import Role
from lms.extensions import db
from lms.forms import ConfirmForm, bounded_int, picked_staff_no
from lms.org.models import Member
from lms.rotation import enrollment as service
from lms.sessions.models import Enrollment, TrainingSession
from lms.transaction import atomic


def _organizer(user, obj) -> bool:
    return user.has_role(Role.ORGANIZER)


@roles_required(Role.ORGANIZER)
def enrollments(session_id: int):
    training = load(TrainingSession, session_id, _organizer)
    form = ConfirmForm()
    problems: list[str] = []
    if request.method == "POST":
        numbers = [n for n in request.form.get("staff_nos", "").replace(",", " ").split() if n]
        if len(numbers) > 2000:
            abort(400)
        members = {
            m.staff_no: m
            for m in db.session.scalars(sa.select(Member).where(Member.staff_no.in_(numbers)))
        }
        problems = [_("工号 %(no)s 不存在。", no=n) for n in numbers if n not in members]
        if not problems:
            try:
                added = service.enroll_all(training, [members[n] for n in numbers])
            except service.EnrollmentProblems as refused:
                problems = refused.messages
            else:
                flash(_("已安排 %(n)d 人参训，并已通知。", n=added), "success")
                return redirect(url_for("rotation.enrollments", session_id=training.id))
    rows = service.session_enrollments(training)
    return render_template(
        "rotation/enrollments.html",
        training=training,
        rows=rows,
        taken=service.seats_taken(training),
        form=form,
        problems=problems,
        picked=picked_staff_no(),
        makeup_sessions=service.makeup_targets(training),
        begun=service.session_has_begun(training),
    )


def _act(enrollment_id: int, action) -> object:
    enrollment = load(Enrollment, enrollment_id, _organizer)
    try:
        with atomic():
            action(enrollment)
    except service.EnrollmentError as exc:
        flash(exc.message, "warning")
    else:
        flash(_("已处理。"), "success")
    return redirect(url_for("rotation.enrollments", session_id=enrollment.session_id))


@roles_required(Role.ORGANIZER)
def decide_leave(enrollment_id: int):
    approve = request.args.get("decision") == "approve"
    return _act(enrollment_id, lambda e: service.decide_leave(e, approve, current_user))


@roles_required(Role.ORGANIZER)
def mark_absent(enrollment_id: int):
    return _act(enrollment_id, lambda e: service.mark_absent(e, current_user))


@roles_required(Role.ORGANIZER)
def makeup(enrollment_id: int):
    target = db.session.get(TrainingSession, request.form.get("session_id", type=bounded_int) or 0)
    if target is None:
        abort(400)
    return _act(enrollment_id, lambda e: service.carry_to_makeup(e, target))
