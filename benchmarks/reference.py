"""How fast this machine runs Python right now: a fixed loop, timed. A shared VM's speed
drifts (twofold within an hour has been seen), so absolute figures such as answers_per_s
are only comparable between runs next to this one: answers_per_s x cpu_reference_ms
stays about the same where the code did not change."""

from __future__ import annotations

import statistics
import time

LOOP = 2_000_000  # additions; about 100-300 ms on one core of a small VM
TIMES = 5


def cpu_reference_ms() -> float:
    """The median of TIMES runs of the fixed loop, in milliseconds."""
    took = []
    for _ in range(TIMES):
        started = time.perf_counter()
        total = 0
        for n in range(LOOP):
            total += n
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)
