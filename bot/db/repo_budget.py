"""The send budget: slots on a channel's rate, booked by every process through one row.

A booking is one conditional UPDATE that moves the channel's next free slot on and returns
where it now stands, so two processes never get the same slot and never need a lock held
across a send. Times are Unix seconds of the wall clock (the platform counts real time,
whatever clock the application runs on).
"""

from __future__ import annotations

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import SendBudget


class SendBudgets:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def booked_until(self, channel: str) -> float:
        """The next free slot (0 when the channel has never been booked)."""
        value = await self.s.scalar(select(SendBudget.next_at).where(SendBudget.channel == channel))
        return float(value or 0.0)

    async def book(self, channel: str, *, slots: int, gap: float, now: float) -> float:
        """Book `slots` consecutive slots `gap` seconds apart; returns the first one's time
        (now, when nothing is booked ahead). The caller sends slot i at first + i * gap."""
        cost = slots * gap
        start = case((SendBudget.next_at > now, SendBudget.next_at), else_=now)
        statement = (
            update(SendBudget)
            .where(SendBudget.channel == channel)
            .values(next_at=start + cost)
            .returning(SendBudget.next_at)
        )
        booked = await self.s.scalar(statement)
        if booked is None:  # the channel's first booking ever
            await self._create(channel)
            booked = await self.s.scalar(statement)
        assert booked is not None
        return float(booked) - cost

    async def hold_off(self, channel: str, *, until: float) -> None:
        """Book nothing before `until` (the platform said to slow down)."""
        await self._create(channel)
        await self.s.execute(
            update(SendBudget)
            .where(SendBudget.channel == channel, SendBudget.next_at < until)
            .values(next_at=until)
        )

    async def _create(self, channel: str) -> None:
        dialect = postgresql if self.s.get_bind().dialect.name == "postgresql" else sqlite
        await self.s.execute(
            dialect.insert(SendBudget)
            .values(channel=channel, next_at=0.0)
            .on_conflict_do_nothing(index_elements=["channel"])
        )
