"""The home page: what each role does next."""

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user, login_required

from lms.auth.models import Role, User
from lms.extensions import db
from lms.org.models import Branch, Member

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def index():
    figures = None
    if current_user.has_role(Role.ORGANIZER, Role.ADMIN):
        figures = {
            "members": db.session.scalar(
                sa.select(sa.func.count()).select_from(Member).where(Member.active.is_(True))
            ),
            "branches": db.session.scalar(sa.select(sa.func.count()).select_from(Branch)),
            "users": db.session.scalar(sa.select(sa.func.count()).select_from(User)),
        }
    return render_template("main/index.html", figures=figures)
