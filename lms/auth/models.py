"""Login accounts and the roles they hold."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from lms.database import UTCDateTime, enum_column, intpk, timestamp
from lms.enums import LabelledEnum
from lms.extensions import Model

if TYPE_CHECKING:
    from lms.org.models import Member


class Role(LabelledEnum):
    TRAINEE = "trainee", _l("学员")
    LECTURER = "lecturer", _l("讲师")
    SECRETARY = "secretary", _l("支部书记")
    ORGANIZER = "organizer", _l("组织者")
    ADMIN = "admin", _l("系统管理员")


# One-time passwords are 12 random characters (~70 bits), so a light hash is enough: the scrypt work
# factor protects human-chosen passwords, and these are replaced at first login anyway.
ONE_TIME_PASSWORD_METHOD = "pbkdf2:sha256:5000"  # noqa: S105 (a hash method, not a password)
# The password "hash" of an account the company directory signs in: no password matches it
# (werkzeug refuses a hash without a method), so no local password exists to guess or leak.
DIRECTORY_PASSWORD_HASH = "!directory"  # noqa: S105 (a marker, not a password)


class UserRole(Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"), primary_key=True)


class User(Model):
    __tablename__ = "users"

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(64), default="")
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"), unique=True)
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Changing it ends every session of this account (see get_id and end_sessions).
    session_token: Mapped[str] = mapped_column(sa.String(32), default=lambda: secrets.token_hex(16))
    created_at: Mapped[timestamp]
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The secret in the member's private calendar feed URL; None when no feed is issued.
    calendar_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    member: Mapped[Member | None] = relationship(back_populates="user")
    role_rows: Mapped[list[UserRole]] = relationship(
        # Loaded with the account by the user loader (lms.auth.services.load_user).
        cascade="all, delete-orphan",
        lazy="select",
        order_by=UserRole.role,
    )

    # --- Flask-Login protocol -------------------------------------------------------------
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def end_sessions(self) -> None:
        """Sign this account out everywhere: every session cookie issued so far stops working."""
        self.session_token = secrets.token_hex(16)

    # --- roles ----------------------------------------------------------------------------
    @property
    def roles(self) -> set[Role]:
        return {row.role for row in self.role_rows}

    def set_roles(self, roles: set[Role]) -> None:
        keep = [row for row in self.role_rows if row.role in roles]
        missing = roles - {row.role for row in keep}
        self.role_rows = keep + [UserRole(role=role) for role in sorted(missing)]

    def has_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    # --- passwords ------------------------------------------------------------------------
    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.must_change_password = False
        self.end_sessions()

    def set_one_time_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=ONE_TIME_PASSWORD_METHOD)
        self.must_change_password = True
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return not self.is_directory_account and check_password_hash(self.password_hash, password)

    # --- company directory (lms/auth/directory.py) ------------------------------------------
    @property
    def is_directory_account(self) -> bool:
        return self.password_hash == DIRECTORY_PASSWORD_HASH

    @property
    def signs_in_locally(self) -> bool:
        """Admins, and every account with a local password (set by an admin or by its owner),
        sign in with that password and are never sent to the directory."""
        return self.has_role(Role.ADMIN) or not self.is_directory_account

    def use_directory(self) -> None:
        """Let the directory alone vouch for this account: any local password stops working.
        (An admin resetting the password makes it a local account again.)"""
        self.password_hash = DIRECTORY_PASSWORD_HASH
        self.must_change_password = False
        self.end_sessions()

    @property
    def name(self) -> str:
        if self.member is not None:
            return self.member.name
        return self.display_name or self.username

    def __repr__(self) -> str:
        return f"<User {self.username}>"
