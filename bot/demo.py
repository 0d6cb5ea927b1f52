"""`furikaeri demo`: the whole loop in a terminal, on a fresh temporary SQLite database.

A counselor (you, or the script) links their account, invites a student, logs a session
with topics; the student (you, or the script) answers; the counselor's digest is printed.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from bot.bootstrap import build, start, stop
from bot.channels.console import ConsoleChannel
from bot.config import load_settings


class Counseling(Protocol):
    """The admin use cases the demo plays (handlers/admin.py; passed in by the CLI, because
    bot/ does not import the features)."""

    async def add_counselor(
        self, engine: Any, *, name: str, locale: str, is_admin: bool
    ) -> tuple[int, str]: ...

    async def create_invite(self, engine: Any, *, counselor_id: int, label: str) -> str: ...

    async def digest_text(self, engine: Any, *, counselor_id: int) -> str: ...


# A scripted conversation: (who, what they type). "[n]" presses button n of the last keyboard.
ANSWERS = {
    "en": (
        "I noticed that I get nervous when I talk about my strengths.",
        "How the visa changes when I get a job offer.",
        "Write three strengths on one page before Friday.",
    ),
    "ja": (
        "自分の強みを話すとき、緊張することに気づきました。",
        "内定をもらったときにビザがどう変わるのか。",
        "金曜日までに自分の強みを3つ書いてみる。",
    ),
}


def builtin_script(locale: str) -> list[tuple[str, str]]:
    noticed, unclear, step = ANSWERS.get(locale, ANSWERS["en"])
    return [
        ("student", "[1]"),  # continue in the suggested language
        ("student", "[1]"),  # I agree
        ("counselor", "/session"),
        ("counselor", "[1]"),  # the student
        ("counselor", "[1]"),  # topic: visa
        ("counselor", "[3]"),  # topic: interviews
        ("counselor", "[13]"),  # done
        ("student", "[2]"),  # the topic that mattered most: interviews
        ("student", noticed),
        ("student", unclear),
        ("student", step),
        ("student", "[1]"),  # yes, I want to talk again
    ]


def parse_script(text: str) -> list[tuple[str, str]]:
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        role, sep, line = raw.partition(":")
        if not sep or role.strip() not in ("student", "counselor"):
            raise ValueError(f"line {number}: expected 'student: …' or 'counselor: …'")
        lines.append((role.strip(), line.strip()))
    return lines


async def run_demo(
    *,
    admin: Counseling,
    locale: str,
    script: list[tuple[str, str]] | None,
    write: Callable[[str], None] = print,
    read: Callable[[str], Awaitable[str | None]] | None = None,
) -> int:
    with tempfile.TemporaryDirectory(prefix="furikaeri-demo-") as tmp:
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}", default_locale=locale
        )
        console = ConsoleChannel(write)
        console.names = {"counselor": "counselor", "student": "student"}
        app = build(settings, channels={"console": console})
        await start(app, with_scheduler=False)
        engine = app.engine
        try:
            counselor_id, link = await admin.add_counselor(
                engine, name="Sato", locale=locale, is_admin=False
            )

            async def say(role: str, line: str, echo: bool = True) -> None:
                if echo:  # typed lines are already on the screen
                    write(f"\n[{role}] {line}")
                await engine.receive(console.event(role, line, locale_hint=locale))
                await engine.drain()

            await say("counselor", f"/start {link}")
            invite = await admin.create_invite(engine, counselor_id=counselor_id, label="Linh")
            await say("student", f"/start {invite}")
            if script is not None:
                for role, line in script:
                    await say(role, line, False)
            elif read is not None:
                await _interactive(say, read, write)
            text = await admin.digest_text(engine, counselor_id=counselor_id)
            write("\n" + "=" * 60)
            write(text)
        finally:
            await stop(app)
    return 0


async def _interactive(
    say: Callable[[str, str, bool], Awaitable[None]],
    read: Callable[[str], Awaitable[str | None]],
    write: Callable[[str], None],
) -> None:
    write(
        "\nYou play both roles. Type as the counselor or the student; a number presses a "
        "button.\n  :s / :student   speak as the student\n  :c / :counselor speak as the "
        "counselor\n  :q              show the counselor's digest and quit\n"
        "Start as the student: confirm the language and consent; then as the counselor "
        "type /session."
    )
    role = "student"
    while True:
        line = await read(f"{role}> ")
        if line is None or line.strip() in (":q", ":quit"):
            return
        if line.strip() in (":s", ":student"):
            role = "student"
        elif line.strip() in (":c", ":counselor"):
            role = "counselor"
        elif line.strip():
            await say(role, line, False)


async def read_line(prompt: str) -> str | None:
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None
