"""The demo organisation: departments, branches and shifts, the members (a roster file) and the
branch secretaries."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from lms.content_files import ContentError, read_yaml
from lms.extensions import db
from lms.org.models import Branch, Department, Member, Shift, branch_secretaries
from lms.org.roster import Progress, import_roster


def load_organisation(path: Path) -> str:
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("departments"), list):
        raise ContentError(f"{path}: field 'departments': a list is required")
    created = 0
    for d_pos, entry in enumerate(data["departments"]):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ContentError(f"{path}: departments[{d_pos}].name: a name is required")
        department = db.session.scalar(sa.select(Department).where(Department.name == name))
        if department is None:
            department = Department(name=name, position=d_pos)
            db.session.add(department)
            db.session.flush()
            created += 1
        for b_pos, branch_name in enumerate(entry.get("branches") or []):
            branch = db.session.scalar(sa.select(Branch).where(Branch.name == branch_name))
            if branch is None:
                db.session.add(Branch(name=branch_name, department=department, position=b_pos))
                created += 1
            elif branch.department_id != department.id:
                raise ContentError(
                    f"{path}: departments[{d_pos}].branches: {branch_name} already belongs "
                    "to another department"
                )
    for s_pos, shift_name in enumerate(data.get("shifts") or []):
        if db.session.scalar(sa.select(Shift).where(Shift.name == shift_name)) is None:
            db.session.add(Shift(name=shift_name, position=s_pos))
            created += 1
    db.session.flush()
    return f"organisation: {created} new departments, branches and shifts"


def load_secretaries(path: Path) -> str:
    data = read_yaml(path) or {}
    assigned = 0
    for branch_name, staff_no in (data.get("secretaries") or {}).items():
        branch = db.session.scalar(sa.select(Branch).where(Branch.name == branch_name))
        member = db.session.scalar(sa.select(Member).where(Member.staff_no == str(staff_no)))
        if branch is None or member is None:
            raise ContentError(
                f"{path}: secretaries.{branch_name}: unknown branch or 工号 {staff_no}"
            )
        current = db.session.scalar(
            sa.select(branch_secretaries.c.member_id).where(
                branch_secretaries.c.branch_id == branch.id
            )
        )
        if current is None:
            branch.secretary = member
            assigned += 1
    db.session.flush()
    return f"secretaries: {assigned} assigned"


def load_members(path: Path, progress: Progress | None = None) -> str:
    with path.open("rb") as stream:
        result = import_roster(path.name, stream, progress=progress)
    if not result.ok:
        first = result.errors[0]
        raise ContentError(f"{path}: row {first.row}, {first.column}: {first.message}")
    return f"members: {result.created} new, {result.updated} updated, {result.unchanged} unchanged"
