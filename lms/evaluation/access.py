"""Who may evaluate a session (the trainee who attended it, once its last day has come)."""

from __future__ import annotations

from lms.auth.models import User
from lms.evaluation.services import refusal
from lms.sessions.models import TrainingSession


def can_evaluate(user: User, session: TrainingSession) -> bool:
    return refusal(session, user.member) is None


def why_not_evaluate(user: User, session: TrainingSession) -> str | None:
    return refusal(session, user.member)
