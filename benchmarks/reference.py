"""How fast this machine runs Python right now: a fixed workload, timed. A shared VM's
speed drifts (threefold within an hour has been seen, more in memory-bound work such as a
large SELECT than in plain arithmetic), so absolute figures such as answers_per_s are only
comparable between runs together with this one."""

from __future__ import annotations

import statistics
import time

ADDITIONS = 2_000_000  # the arithmetic part
ROWS = 100_000  # the allocating part: small dicts built, sorted and read, as a digest does
TIMES = 3


def cpu_reference_ms() -> float:
    """The median of TIMES runs of the fixed workload, in milliseconds."""
    took = []
    for _ in range(TIMES):
        started = time.perf_counter()
        total = 0
        for n in range(ADDITIONS):
            total += n
        rows = [{"id": n, "text": f"answer {n}", "key": (n * 7919) % 1000} for n in range(ROWS)]
        rows.sort(key=lambda row: (row["key"], row["text"]))
        total += sum(len(row["text"]) for row in rows)
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)
