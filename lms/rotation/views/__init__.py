"""Rotation's pages (轮训), one module per part: calling members to a session (leave, absence,
make-up), rotation cycles and their plans, blackout dates. Every URL of the blueprint is here."""

from flask import Blueprint

from lms.rotation.views import blackouts, cycles, enrollments

bp = Blueprint("rotation", __name__, url_prefix="/rotation")

ROUTES = [
    ("/sessions/<int:session_id>/enrollments", enrollments.enrollments, ["GET", "POST"]),
    ("/enrollments/<int:enrollment_id>/leave", enrollments.decide_leave, ["POST"]),
    ("/enrollments/<int:enrollment_id>/absent", enrollments.mark_absent, ["POST"]),
    ("/enrollments/<int:enrollment_id>/makeup", enrollments.makeup, ["POST"]),
    ("/cycles/", cycles.cycles, ["GET"]),
    ("/cycles/new", cycles.create_cycle, ["GET", "POST"]),
    ("/cycles/<int:cycle_id>/edit", cycles.edit_cycle, ["GET", "POST"]),
    ("/cycles/<int:cycle_id>", cycles.cycle, ["GET"]),
    ("/cycles/<int:cycle_id>/plan", cycles.plan_cycle, ["POST"]),
    ("/cycles/<int:cycle_id>/move", cycles.move, ["POST"]),
    ("/cycles/<int:cycle_id>/confirm", cycles.confirm_cycle, ["POST"]),
    ("/cycles/<int:cycle_id>/discard", cycles.discard_plan, ["POST"]),
    ("/blackouts", blackouts.blackouts, ["GET", "POST"]),
    ("/blackouts/<int:blackout_id>/delete", blackouts.delete_blackout, ["POST"]),
]
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
