"""Loading the shipped demo content: each feature loads its own part (its `demo` module), here in
the order they build on one another."""

from __future__ import annotations

from dataclasses import dataclass, field

from lms.admin.demo import load_accounts
from lms.attendance.demo import attend_finished_sessions
from lms.catalog.demo import load_catalog
from lms.evaluation.demo import evaluate_finished_sessions
from lms.online.demo import load_recordings
from lms.org.demo import load_members, load_organisation, load_secretaries
from lms.org.roster import Progress
from lms.paths import shipped
from lms.quizzes.demo import load_questions, load_quizzes
from lms.rotation.demo import load_rotation
from lms.sessions.demo import load_teaching


@dataclass
class LoadReport:
    lines: list[str] = field(default_factory=list)
    accounts: list[tuple[str, str, str]] = field(default_factory=list)  # username, password, roles


def load_demo(progress: Progress | None = None) -> LoadReport:
    """Load the demo organisation, members and accounts; loading twice changes nothing."""
    folder = shipped("content") / "demo"
    report = LoadReport()
    report.lines.append(load_organisation(folder / "organisation.yaml"))
    report.lines.append(load_members(folder / "members.csv", progress))
    report.lines.append(load_secretaries(folder / "organisation.yaml"))
    line, report.accounts = load_accounts(folder / "accounts.yaml")
    report.lines.append(line)
    report.lines.append(load_catalog(shipped("content") / "catalog"))
    line, sessions = load_teaching(folder / "sessions.yaml")
    report.lines.append(line)
    attend_finished_sessions(sessions)
    evaluate_finished_sessions(folder / "sessions.yaml", sessions)
    report.lines.append(load_questions(shipped("content") / "questions"))
    report.lines.append(load_quizzes(folder / "quizzes.yaml"))
    report.lines.append(load_rotation(folder / "rotation.yaml"))
    report.lines.append(load_recordings(folder / "recordings.yaml"))
    return report
