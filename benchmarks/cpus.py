"""Where a load test's processes run: the server measured on a CPU of its own, the load
generator (this process: the requests, the simulated students, the fake chat APIs) on
the others.

On a small machine (two CPUs here) the generator, the server it measures and PostgreSQL
otherwise share the CPUs as the scheduler deals them out, and a server's rate follows how
often the generator lands on its CPU: rounds of one `furikaeri run --role web` came out
0.29–0.73 of the bare endpoint within one run, and its CPU per webhook rose by a quarter.
A platform's webhooks come from other machines; a server on a CPU of its own is measured
by its own cost. Servers compared are placed alike; PostgreSQL is left to the scheduler.
A process started meanwhile runs on the generator's CPUs until it is placed. Linux only:
elsewhere, or with fewer than two CPUs, nothing is moved.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def generator_apart() -> Iterator[set[int] | None]:
    """Run this process's threads on all CPUs but one, and yield that one for the servers
    (None when the CPUs cannot be split); every thread gets all of them back after."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        yield None
        return
    _place(os.getpid(), set(cpus[1:]))
    try:
        yield {cpus[0]}
    finally:
        _place(os.getpid(), set(cpus))


def place(pid: int, cpus: set[int] | None) -> None:
    """Run every thread of process `pid` on `cpus` (threads it starts later inherit it)."""
    if cpus is not None:
        _place(pid, cpus)


def _place(pid: int, cpus: set[int]) -> None:
    for thread in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):  # a thread that has just ended
            os.sched_setaffinity(int(thread), cpus)
