"""What one feature announces and another reacts to (blinker signals, as Flask uses), so a lower
feature never imports a higher one. Receivers are connected in create_app (lms/__init__.py), in
one list; each signal's doc says what its sender is and what a receiver returns."""

from blinker import Namespace

_signals = Namespace()

session_completed = _signals.signal(
    "session-completed",
    doc="A training session was marked completed. Sender: the TrainingSession.",
)
user_renamed = _signals.signal(
    "user-renamed",
    doc="The name shown for an account changed (display name or linked member). Sender: the User.",
)
day_began = _signals.signal(
    "day-began",
    doc="The daily pass, at the first signed-in request of a local day. Sender: the UTC moment. "
    "A receiver returns whether it changed anything (then the pass commits).",
)
hours_ledger_lines = _signals.signal(
    "hours-ledger-lines",
    doc="A member's hours ledger for a year is being drawn up. Sender: the Member; `year`. "
    "A receiver returns more HoursLine rows (hours earned outside attended lessons).",
)
lesson_deleting = _signals.signal(
    "lesson-deleting",
    doc="A lesson is about to be deleted. Sender: the Lesson. A receiver returns a message saying "
    "why it must stay, or None.",
)
