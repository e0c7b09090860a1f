"""The demo rotation cycle, holding the demo sessions' enrolments within its dates."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import sqlalchemy as sa

from lms.content_files import ContentError, read_yaml
from lms.extensions import db
from lms.org.models import Member
from lms.org.roster import CATEGORY_WORDS
from lms.rotation.coverage import population
from lms.rotation.models import RotationCycle
from lms.rotation.services import CycleData, save_cycle
from lms.sessions.models import Enrollment, TrainingSession


def load_rotation(path: Path) -> str:
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("cycles"), list):
        raise ContentError(f"{path}: field 'cycles' (a list) is required")
    created = 0
    for index, entry in enumerate(data["cycles"]):
        where = f"{path}: cycles[{index}]"
        name = str((entry or {}).get("name", ""))
        if db.session.scalar(sa.select(RotationCycle.id).where(RotationCycle.name == name)):
            continue
        try:
            cycle = save_cycle(
                CycleData(
                    name=name,
                    start_date=entry["start"],
                    end_date=entry["end"],
                    categories={CATEGORY_WORDS[w] for w in entry.get("categories") or []},
                    branch_ids=[],
                    required_sessions=int(entry.get("required_sessions", 1)),
                    required_hours=Decimal(str(entry.get("required_hours", 0))),
                    cap_share=Decimal(int(entry.get("cap_percent", 30))) / 100,
                )
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise ContentError(f"{where}: name, start and end required ({exc})") from exc
        in_cycle = sa.select(TrainingSession.id).where(
            TrainingSession.start_date >= cycle.start_date,
            TrainingSession.end_date <= cycle.end_date,
        )
        # One live enrollment per member in a cycle: the earliest counts, later ones stay outside.
        attached: set[int] = set()
        for enrollment in db.session.scalars(
            sa.select(Enrollment)
            .join(TrainingSession, TrainingSession.id == Enrollment.session_id)
            .where(
                Enrollment.session_id.in_(in_cycle),
                Enrollment.cycle_id.is_(None),
                Enrollment.member_id.in_(population(cycle).with_only_columns(Member.id)),
            )
            .order_by(TrainingSession.start_date, Enrollment.id)
        ):
            if enrollment.member_id not in attached:
                enrollment.cycle_id = cycle.id
                attached.add(enrollment.member_id)
        created += 1
    db.session.flush()
    return f"cycles: {created} new"
