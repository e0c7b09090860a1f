"""Figures the suites report (faults injected, answers lost, routes × roles checked, inputs
fuzzed…), printed in the run's summary by tests/conftest.py."""

from __future__ import annotations

from collections import Counter

FIGURES: list[str] = []
COUNTS: Counter[str] = Counter()


def report(line: str) -> None:
    FIGURES.append(line)


def count(what: str, n: int = 1) -> None:
    COUNTS[what] += n


def summary() -> list[str]:
    return [f"{what}: {n}" for what, n in sorted(COUNTS.items())] + FIGURES
