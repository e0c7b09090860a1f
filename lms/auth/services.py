"""Authentication: checking credentials, the user loader, and safe redirects."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from flask import request, session
from sqlalchemy.orm import joinedload, selectinload

from lms.audit.services import record_audit
from lms.auth.directory import (
    DirectoryPerson,
    DirectoryUnavailable,
    check_directory_password,
    directory_enabled,
)
from lms.auth.models import Role, User, UserRole
from lms.database import utcnow
from lms.extensions import db, login_manager
from lms.org.models import Member

SUPPORTED_LOCALES = ("zh_CN", "en")

log = logging.getLogger(__name__)


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader (connected in create_app): the account a session names."""
    ident, _, token = user_id.partition(":")
    if not ident.isdigit():
        return None
    # With what nearly every page shows (the name, the menu by role): one statement, not three.
    user = db.session.get(
        User, int(ident), options=[joinedload(User.member), joinedload(User.role_rows)]
    )
    if user is None or not user.active or user.session_token != token:
        return None
    return user


@dataclass(frozen=True)
class SessionAccount:
    """The account the signed session cookie names, read without loading it.

    The cookie is signed, so it says who signed in, but not whether that sign-in still stands:
    a view given one checks `refusal` on the account's row in its own SQL (see `columns`)."""

    user_id: int
    token: str

    @staticmethod
    def columns() -> list:
        """The account's columns `refusal` reads, for a statement that outer-joins `User` on
        the session's user id (no row of its own when the account is gone)."""
        return [
            User.id.label("account_id"),
            User.member_id.label("account_member_id"),
            User.active.label("account_active"),
            User.session_token.label("account_token"),
            User.must_change_password.label("account_must_change_password"),
        ]

    def refusal(self, row) -> AccountRefused | None:
        """Why this session may not act, judged on a row with `columns()`: what `load_user`
        and the forced password change would say."""
        if row.account_id is None or not row.account_active or row.account_token != self.token:
            return AccountRefused(signed_out=True)
        if row.account_must_change_password:
            return AccountRefused(signed_out=False)
        return None

    def check(self) -> None:
        """The same check as a statement of its own, for where no row came back to judge."""
        row = db.session.execute(
            sa.select(*self.columns()).where(User.id == self.user_id)
        ).one_or_none()
        if row is None:
            raise AccountRefused(signed_out=True)
        if (refused := self.refusal(row)) is not None:
            raise refused


class AccountRefused(Exception):
    """The session's account is signed out (ended, disabled, gone) or must change its password."""

    def __init__(self, signed_out: bool) -> None:
        super().__init__("signed out" if signed_out else "password change required")
        self.signed_out = signed_out


def session_account() -> SessionAccount | None:
    """Who the signed session says is signed in, for views that check the account themselves
    (`lms.access.session_login_required`); None when nobody is, or session protection refuses."""
    if login_manager._session_protection_failed():
        return None
    ident, _, token = str(session.get("_user_id") or "").partition(":")
    if not ident.isdigit() or not token:
        return None
    return SessionAccount(int(ident), token)


def users_with_role(role: Role) -> list[User]:
    """The active accounts holding `role`, by username, with their member records loaded."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(UserRole)
            .where(UserRole.role == role, User.active.is_(True))
            .options(selectinload(User.member))
            .order_by(User.username)
        )
    )


def find_user(login: str) -> User | None:
    """The account `login` names: the one with that username, else the one linked to the member
    with that 工号. A username wins over another account's 工号, so a name never means two
    accounts (a 工号 is unique, and a member is linked to at most one account)."""
    login = login.strip()
    if not login:
        return None
    user = db.session.scalar(sa.select(User).where(User.username == login))
    if user is None:
        user = db.session.scalar(sa.select(User).join(User.member).where(Member.staff_no == login))
    return user


class SignInRefusal(enum.StrEnum):
    WRONG = "wrong"  # unknown name, wrong password, or a deactivated account
    NOT_A_MEMBER = "not_a_member"  # the directory knows them, the roster does not
    LOCAL_ONLY = "local_only"  # the directory named an account that signs in locally only
    DIRECTORY_DOWN = "directory_down"


@dataclass(frozen=True)
class SignIn:
    user: User | None = None
    refusal: SignInRefusal | None = None
    employee_number: str = ""


def authenticate(login: str, password: str) -> SignIn:
    """Check a sign-in (username or 工号) and stamp the login time of the account it opens.

    Local accounts (User.signs_in_locally) are checked against their own password only. Any other
    name goes to the company directory when one is configured; the person it vouches for opens
    the account of the member with their employee number (see `_directory_account`)."""
    user = find_user(login)
    if user is not None and (user.signs_in_locally or not directory_enabled()):
        if not user.active or not user.check_password(password):
            return SignIn(refusal=SignInRefusal.WRONG)
        return _signed_in(user)
    if (user is not None and not user.active) or not directory_enabled():
        return SignIn(refusal=SignInRefusal.WRONG)
    try:
        person = check_directory_password(login, password)
    except DirectoryUnavailable as exc:
        log.warning("company directory unavailable: %s", exc)
        return SignIn(refusal=SignInRefusal.DIRECTORY_DOWN)
    if person is None:
        return SignIn(refusal=SignInRefusal.WRONG)
    return _directory_account(person)


def _signed_in(user: User) -> SignIn:
    user.last_login_at = utcnow()
    db.session.flush()
    return SignIn(user=user)


def _directory_account(person: DirectoryPerson) -> SignIn:
    """The account of the member whose 工号 is the directory's employee number: theirs if they
    have one (from now on signed in by the directory only), else a new trainee account."""
    number = person.employee_number
    member = (
        db.session.scalar(sa.select(Member).where(Member.staff_no == number)) if number else None
    )
    if member is None:
        return SignIn(refusal=SignInRefusal.NOT_A_MEMBER, employee_number=number)
    user = member.user
    if not member.active or (user is not None and not user.active):
        return SignIn(refusal=SignInRefusal.WRONG)
    details = {"dn": person.dn, "staff_no": number}
    if user is None:
        user = User(
            username=_free_username(person, member),
            display_name=person.display_name[:64],
            member=member,
        )
        user.use_directory()
        user.set_roles({Role.TRAINEE})
        db.session.add(user)
        db.session.flush()
        record_audit("user.directory_created", "user", user.id, details, actor_id=user.id)
    elif user.has_role(Role.ADMIN):
        return SignIn(refusal=SignInRefusal.LOCAL_ONLY)
    elif not user.is_directory_account:
        user.use_directory()
        record_audit("user.directory_linked", "user", user.id, details, actor_id=user.id)
    return _signed_in(user)


def _free_username(person: DirectoryPerson, member: Member) -> str:
    """The directory's sign-in name, else the 工号: one no other account or member uses, so
    find_user keeps meaning one account."""

    def taken(name: str) -> bool:
        return bool(
            db.session.scalar(sa.select(sa.func.count()).where(User.username == name))
            or db.session.scalar(
                sa.select(sa.func.count()).where(Member.staff_no == name, Member.id != member.id)
            )
        )

    for name in (person.login[:64], member.staff_no):
        if name and not taken(name):
            return name
    suffix = 2
    while taken(f"{member.staff_no}-{suffix}"):
        suffix += 1
    return f"{member.staff_no}-{suffix}"


def change_password(user: User, current: str, new: str) -> bool:
    if not user.check_password(current):
        return False
    user.set_password(new)
    record_audit("user.password_changed", "user", user.id)
    return True


def sign_out(user: User) -> None:
    """End the account's sessions on the server, so a copied session cookie is refused too."""
    user.end_sessions()
    db.session.flush()


def safe_next_url(target: str | None) -> str | None:
    """Keep `next` inside this site: a path only, no scheme, host or protocol-relative tricks."""
    if not target:
        return None
    target = target.strip()
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def safe_referrer() -> str | None:
    """The page this request came from, as a path, when it is a page of this site; None for
    another site's page (a forged or planted Referer) or no Referer at all."""
    parts = urlsplit(request.referrer or "")
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    return safe_next_url(urlunsplit(("", "", parts.path, parts.query, "")))


def set_locale(user: User, locale: str) -> None:
    if locale in SUPPORTED_LOCALES:
        user.locale = locale
        db.session.flush()
