"""Run every benchmark suite; print the figures and write them to benchmarks/results.json.

A suite is a module with `run() -> dict[str, float]`; its keys are the names the issues
and the README use. Ratios against a baseline measured in the same run, not bare seconds,
are what a suite should report wherever a baseline exists.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from benchmarks.reference import cpu_reference_ms
from bot.i18n import set_strict

SUITES = [
    "benchmarks.answers",
    "benchmarks.webhooks",
    "benchmarks.intake",
    "benchmarks.translation",
    "benchmarks.crisis",
    "benchmarks.digest",
    "benchmarks.answers_line",
    "benchmarks.fanout",
]
RESULTS = Path(__file__).with_name("results.json")


def main(names: list[str]) -> None:
    set_strict(True)
    before = cpu_reference_ms()
    results: dict[str, float] = {}
    for suite in names or SUITES:
        figures = importlib.import_module(suite).run()
        print(f"\n{suite}")
        for key, value in figures.items():
            print(f"  {key:44s} {value:12.3f}")
        results.update(figures)
    # The machine's speed at the start and the end of the run (see benchmarks/reference.py).
    results["cpu_reference_ms"] = (before + cpu_reference_ms()) / 2
    print(f"\n  {'cpu_reference_ms':44s} {results['cpu_reference_ms']:12.3f}")
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main(sys.argv[1:])
