"""Run every benchmark, print the figures and write them as JSON under bench/results/."""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (
    catalog_throughput,
    certificates,
    dashboard,
    planner,
    quiz_peak,
    roster_import,
    upload_memory,
)

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    figures = {
        "roster_import": roster_import.run(),
        "catalog_throughput": catalog_throughput.run(),
        "upload_memory": upload_memory.run(),
        "quiz_peak": quiz_peak.run(),
        "planner": planner.run(),
        "dashboard": dashboard.run(),
        "certificates": certificates.run(),
    }
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "figures": figures,
    }
    out = RESULTS / "latest.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"written {out}")


if __name__ == "__main__":
    main()
