"""A member's notifications page: the latest first, and marking them all read."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from lms.forms import ConfirmForm
from lms.notifications import services

bp = Blueprint("notifications", __name__)


@bp.route("/me/notifications", methods=["GET", "POST"])
@login_required
def mine():
    member = current_user.member
    if member is None:
        abort(403)
    if request.method == "POST":
        services.mark_all_read(member.id)
        return redirect(url_for("notifications.mine"))
    rows = services.latest(member.id)
    return render_template("notifications/mine.html", rows=rows, confirm=ConfirmForm())
