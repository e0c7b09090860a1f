"""A member's notifications: invitations, leave decisions, absence, make-up sessions,
certificates and quizzes that open; stored as a kind and its parameters."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from lms.database import UTCDateTime, intpk, timestamp
from lms.extensions import Model

# Stored as a kind and its parameters, so each member reads them in their own language.
NOTIFICATION_TEXTS = {
    "invited": _l("您被安排参加「%(session)s」（%(start)s 起）。"),
    "leave_approved": _l("您在「%(session)s」的请假已批准，稍后会为您安排补训。"),
    "leave_refused": _l("您在「%(session)s」的请假未获批准，请按时参训。"),
    "makeup": _l("您被安排在「%(session)s」（%(start)s 起）补训。"),
    "absent": _l("您在「%(session)s」被记为缺席，组织者会为您安排补训。"),
    "certificate_issued": _l("您的结业证书（%(serial)s，%(achievement)s）已颁发，可以下载。"),
    "quiz_opened": _l("「%(session)s」的测试「%(quiz)s」%(opens)s 起开放，请按时参加。"),
}

# Where each kind of notification takes the member; the parameters fill the URL.
NOTIFICATION_TARGETS = {
    "invited": ("main.my_timetable", ()),
    "leave_approved": ("main.my_timetable", ()),
    "leave_refused": ("main.my_timetable", ()),
    "makeup": ("main.my_timetable", ()),
    "absent": ("main.my_timetable", ()),
    "certificate_issued": ("certificates.mine", ()),
    "quiz_opened": ("quizzes.quiz", ("quiz_id",)),
}


class Notification(Model):
    __tablename__ = "notifications"

    id: Mapped[intpk]
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    link: Mapped[str] = mapped_column(sa.String(255), default="")
    created_at: Mapped[timestamp]
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def text(self) -> str:
        template = NOTIFICATION_TEXTS.get(self.kind)
        return str(template) % self.params if template is not None else self.kind

    @property
    def url(self) -> str:
        if self.link:
            return self.link
        target = NOTIFICATION_TARGETS.get(self.kind)
        if target is None:
            return ""
        endpoint, names = target
        if any(name not in self.params for name in names):
            return ""
        return url_for(endpoint, **{name: self.params[name] for name in names})
