"""Signals: every one the features send has a receiver once the app is built, and a receiver
connected twice (a second app in the same process) still runs once."""

from datetime import date
from decimal import Decimal

from blinker import Signal

from lms import create_app, signals
from lms.attendance.hours import HoursLine
from lms.extensions import db


def _declared() -> dict[str, Signal]:
    return {name: value for name, value in vars(signals).items() if isinstance(value, Signal)}


def test_every_signal_has_a_receiver(app):
    declared = _declared()
    assert declared, "no signals found in lms.signals"
    deaf = sorted(name for name, signal in declared.items() if not signal.receivers)
    assert not deaf, f"signals nobody receives: {deaf}"


def test_building_another_app_does_not_connect_a_receiver_twice(app, tmp_path):
    before = {name: len(signal.receivers) for name, signal in _declared().items()}
    other = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'other.db'}"}
    )
    with other.app_context():
        db.engine.dispose()
    after = {name: len(signal.receivers) for name, signal in _declared().items()}
    assert after == before


def test_a_ledger_gets_the_lines_its_receivers_return(app, monkeypatch):
    from lms.attendance import hours
    from tests.factories import make_member

    member = make_member()
    extra = HoursLine(day=date(2026, 3, 1), what="外部学习", hours=Decimal("1.5"), kind="online")

    def more_lines(sender, year):
        return [extra] if sender is member and year == 2026 else []

    signals.hours_ledger_lines.connect(more_lines)
    try:
        assert extra in hours.hours_ledger(member, 2026)
        assert extra not in hours.hours_ledger(member, 2025)
    finally:
        signals.hours_ledger_lines.disconnect(more_lines)
