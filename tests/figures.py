"""Figures the suites report (faults injected, answers lost, routes × roles checked…), printed in
the run's summary by tests/conftest.py."""

from __future__ import annotations

FIGURES: list[str] = []


def report(line: str) -> None:
    FIGURES.append(line)
