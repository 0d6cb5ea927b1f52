"""Turns at SQLite's one connection: in order, the intake first, nobody starved, and a
caller that gives up never keeps the turn."""

from __future__ import annotations

import asyncio

import pytest

from bot.db.gate import Gate


async def _take(gate: Gate, name: str, order: list[str], *, intake: bool = False) -> None:
    await gate.acquire(intake=intake)
    order.append(name)
    await asyncio.sleep(0)
    gate.release()


async def test_waiters_take_turns_in_order_with_the_intake_ahead_but_not_twice_in_a_row() -> None:
    gate, order = Gate(timeout=5), []
    await gate.acquire()  # a unit of work holds the connection
    tasks = [
        asyncio.create_task(_take(gate, "work 1", order)),
        asyncio.create_task(_take(gate, "work 2", order)),
        asyncio.create_task(_take(gate, "intake 1", order, intake=True)),
        asyncio.create_task(_take(gate, "intake 2", order, intake=True)),
    ]
    await asyncio.sleep(0)
    gate.release()
    await asyncio.gather(*tasks)
    assert order == ["intake 1", "work 1", "intake 2", "work 2"]


async def test_a_caller_that_times_out_leaves_the_queue_and_the_next_one_goes() -> None:
    gate, order = Gate(timeout=0.05), []
    await gate.acquire()
    with pytest.raises(TimeoutError):
        await gate.acquire()  # the holder never lets go in time
    waiting = asyncio.create_task(_take(gate, "next", order))
    await asyncio.sleep(0)
    gate.release()
    await waiting
    assert order == ["next"]
    await gate.acquire()  # free again: taken at once
    gate.release()


async def test_a_turn_given_to_a_caller_cancelled_meanwhile_is_passed_on() -> None:
    gate, order = Gate(timeout=5), []
    await gate.acquire()
    cancelled = asyncio.create_task(gate.acquire())
    after = asyncio.create_task(_take(gate, "after", order))
    await asyncio.sleep(0)
    gate.release()  # the turn goes to `cancelled` ...
    cancelled.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.wait_for(after, 1)
    assert order == ["after"]
