"""Blackout dates (值班、休假): the planner never calls a member to a session inside them."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from lms.access import is_organizer, load, roles_required
from lms.audit.services import record_audit
from lms.auth.models import Role
from lms.extensions import db
from lms.forms import ConfirmForm, picked_staff_no
from lms.rotation.forms import BlackoutForm
from lms.rotation.models import Blackout


@roles_required(Role.ORGANIZER)
def blackouts():
    form = BlackoutForm()
    form.staff_no.data = form.staff_no.data or picked_staff_no()
    if form.validate_on_submit():
        member = form.staff_no.member
        blackout = Blackout(
            member_id=member.id,
            start_date=form.start_date.data,
            end_date=form.end_date.data,
            reason=form.reason.data,
            note=form.note.data or "",
        )
        db.session.add(blackout)
        db.session.flush()
        record_audit("blackout.created", "member", member.id, {"id": blackout.id})
        flash(_("已登记。"), "success")
        return redirect(url_for("rotation.blackouts"))
    rows = db.session.scalars(
        sa.select(Blackout).order_by(Blackout.start_date.desc()).limit(200)
    ).all()
    return render_template(
        "rotation/blackouts.html",
        form=form,
        rows=rows,
        confirm=ConfirmForm(),
    )


@roles_required(Role.ORGANIZER)
def delete_blackout(blackout_id: int):
    blackout = load(Blackout, blackout_id, is_organizer)
    record_audit("blackout.deleted", "member", blackout.member_id, {"id": blackout.id})
    db.session.delete(blackout)
    return redirect(url_for("rotation.blackouts"))
