"""The quiz benchmark's baseline: bare Flask + Flask-SQLAlchemy with the quiz's request mix.

The same four routes as the real quiz (start, question page, JSON autosave, submit) at the same
paths, with no sign-in, no CSRF, no templates and no rules: start inserts an attempt row, the page
is a short fixed string holding a csrf_token field, autosave upserts one answer row (a newer `seq`
wins, as in the app) and commits, submit finishes the attempt with one conditional UPDATE."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, jsonify, redirect, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()


class BenchAttempt(db.Model):
    __tablename__ = "bench_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), default="in_progress")


class BenchAnswer(db.Model):
    __tablename__ = "bench_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("bench_attempts.id"))
    position: Mapped[int]
    seq: Mapped[int]
    response: Mapped[dict | None] = mapped_column(sa.JSON)

    __table_args__ = (sa.UniqueConstraint("attempt_id", "position"),)


PAGE = '<form data-position="1"><input name="csrf_token" type="hidden" value="bare"></form>'


def make_app(database_url: str) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    db.init_app(app)

    @app.post("/quizzes/<int:quiz_id>/start")
    def start(quiz_id: int):
        attempt = BenchAttempt(quiz_id=quiz_id)
        db.session.add(attempt)
        db.session.commit()
        return redirect(f"/quizzes/attempts/{attempt.id}")

    @app.get("/quizzes/attempts/<int:attempt_id>")
    def take(attempt_id: int):
        return PAGE

    @app.post("/quizzes/attempts/<int:attempt_id>/answer")
    def autosave(attempt_id: int):
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get("position"), int):
            return jsonify(ok=False), 400
        stmt = insert(BenchAnswer).values(
            attempt_id=attempt_id,
            position=payload["position"],
            seq=payload["seq"],
            response=payload.get("response"),
        )
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["attempt_id", "position"],
                set_={"seq": stmt.excluded.seq, "response": stmt.excluded.response},
                where=BenchAnswer.seq < stmt.excluded.seq,
            )
        )
        db.session.commit()
        return jsonify(ok=True, position=payload["position"], seq=payload["seq"])

    @app.post("/quizzes/attempts/<int:attempt_id>/submit")
    def submit(attempt_id: int):
        db.session.execute(
            sa.update(BenchAttempt)
            .where(BenchAttempt.id == attempt_id, BenchAttempt.status == "in_progress")
            .values(status="submitted")
        )
        db.session.commit()
        return redirect(f"/quizzes/attempts/{attempt_id}/result")

    @app.get("/__bench_ready__")
    def ready():
        return "ok"

    return app
