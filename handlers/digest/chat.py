"""/digest in chat: a short overview, one student's detail on request (paged), and on
Telegram the whole digest as one file. Only a plain /digest moves "since your last digest".

Buttons ("dig:…") carry the window they were made for, so a press shows the same period
as the overview it came from, after a restart too:
  dig:s:<student>:<since>        open one student (a new message)
  dig:p:<student>:<since>:<page> turn a page of that student (edits the message in place)
  dig:f:<since>                  the whole digest as a file
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.db.models import Counselor, Student
from bot.engine.context import Context
from bot.engine.events import Inbound, Kind
from bot.engine.replies import Button, Document, Reply
from handlers.digest.build import ALERT_FLAGS, Digest, build_digest, parse_since
from handlers.digest.render import (
    CHAT_MESSAGE,
    render_overview,
    render_student_pages,
    render_text,
)

FILE_CHANNELS = frozenset({"telegram"})  # LINE bots cannot send files
STUDENT_BUTTONS = 10  # with the file button, within LINE's 13 quick-reply items
DETAIL_DAYS = 30  # `/digest NAME` without a window looks this far back
MAX_LABEL = 20


async def digest(event: Inbound, ctx: Context) -> list[Reply]:
    """/digest [NAME] [7d|DATE]: the overview, or one student's detail."""
    assert ctx.counselor is not None
    words = event.args.split()
    since = parse_since(words[-1], now=ctx.now) if words else None
    if since is not None:
        words = words[:-1]
    if words:
        return await _named(event, ctx, " ".join(words), since)
    return await overview(ctx, ctx.counselor, since=since, channel=event.channel)


async def overview(
    ctx: Context, counselor: Counselor, *, since: datetime | None, channel: str
) -> list[Reply]:
    """At most three messages, flagged students first; a plain one (no window) is read."""
    built = await build_digest(ctx, counselor, since=since)
    if since is None:
        counselor.last_digest_at = ctx.now  # only a plain /digest moves the marker
    await ctx.uow.audit.record(
        at=ctx.now,
        actor=ctx.actor,
        action="digest.viewed",
        students=[s.id for s in built.students],
        via="chat",
    )
    return overview_replies(ctx, counselor, built, channel=channel)


def overview_replies(
    ctx: Context, counselor: Counselor, built: Digest, *, channel: str | None
) -> list[Reply]:
    """The overview's messages; the last one carries the buttons (students, a file).
    A digest short enough for one message comes whole: nothing to open one by one."""
    t = ctx.tr(counselor.locale)
    # Each message may quote any of these students: deleting one drops it while unsent.
    concerns = frozenset(s.id for s in built.students)
    whole = render_text(built, t, max_len=CHAT_MESSAGE)
    if len(whole) == 1:
        return [Reply(text=whole[0], concerns=concerns)]
    texts = render_overview(built, t)
    buttons = _student_buttons(built)
    if channel in FILE_CHANNELS and built.students:
        # TRANSLATORS: button label, at most 20 characters
        buttons.append(Button(t._("All as a file"), f"dig:f:{_stamp(built.since)}", keep=True))
    replies = [Reply(text=text, concerns=concerns) for text in texts]
    replies[-1] = Reply(text=texts[-1], buttons=tuple(buttons), columns=2, concerns=concerns)
    return replies


def _student_buttons(built: Digest) -> list[Button]:
    since = _stamp(built.since)
    chosen = [s for s in built.students if any(f in ALERT_FLAGS for f in s.flags)]
    chosen += [s for s in built.students if s not in chosen]
    return [
        Button(s.name[:MAX_LABEL], f"dig:s:{s.id}:{since}", keep=True)
        for s in chosen[:STUDENT_BUTTONS]
    ]


async def digest_choice(event: Inbound, ctx: Context) -> list[Reply]:
    """The digest's buttons: open a student, turn a page, or get everything as a file."""
    assert ctx.counselor is not None
    parts = event.data.split(":")
    if len(parts) == 3 and parts[1] == "f" and parts[2].isdigit():
        return await _as_file(ctx, ctx.counselor, _moment(parts[2]))
    if len(parts) in (4, 5) and parts[1] in ("s", "p") and all(p.isdigit() for p in parts[2:]):
        student = await ctx.uow.students.of_counselor(ctx.counselor.id, int(parts[2]))
        if student is not None:
            page = int(parts[4]) if len(parts) == 5 else 0
            replaces = event.message_id if parts[1] == "p" else ""
            return await detail(ctx, student, since=_moment(parts[3]), page=page, replaces=replaces)
    return [Reply(text=ctx.t._("That choice is no longer open. Send /digest again."))]


async def _named(event: Inbound, ctx: Context, name: str, since: datetime | None) -> list[Reply]:
    assert ctx.counselor is not None
    found = await find_students(ctx, ctx.counselor, name)
    t = ctx.t
    if not found:
        return [
            Reply(
                text=t._(
                    "You have no student called {name}. See /students, or use /digest, "
                    "/digest 7d or /digest 2026-04-01.",
                    name=name[:60],
                )
            )
        ]
    window = since or ctx.now - timedelta(days=DETAIL_DAYS)
    if len(found) > 1:
        stamp = _stamp(window)
        buttons = tuple(
            Button(s.label[:MAX_LABEL] or f"#{s.id}", f"dig:s:{s.id}:{stamp}", keep=True)
            for s in found[:STUDENT_BUTTONS]
        )
        text = t._("Several students match. Which one?")
        concerns = frozenset(s.id for s in found)
        return [Reply(text=text, buttons=buttons, columns=2, concerns=concerns)]
    replaces = event.message_id if event.kind is Kind.CHOICE else ""
    return await detail(ctx, found[0], since=window, page=0, replaces=replaces)


async def find_students(ctx: Context, counselor: Counselor, name: str) -> list[Student]:
    """This counselor's students by number (12, #12) or name: exact, else starting with it,
    else containing it (case does not matter)."""
    wanted = name.strip().lstrip("#")
    students = await ctx.uow.students.list_for_counselor(counselor.id)
    if wanted.isdigit():
        return [s for s in students if s.id == int(wanted)]
    folded = wanted.casefold()
    for test in (
        lambda label: label == folded,
        lambda label: label.startswith(folded),
        lambda label: folded in label,
    ):
        found = [s for s in students if test(s.label.casefold())]
        if found:
            return found
    return []


async def detail(
    ctx: Context, student: Student, *, since: datetime, page: int, replaces: str = ""
) -> list[Reply]:
    """One page of one student's detail, with buttons to turn pages; never marks read."""
    assert ctx.counselor is not None
    built = await build_digest(
        ctx, ctx.counselor, since=since, student_id=student.id, everyone=True
    )
    await ctx.uow.audit.record(
        at=ctx.now,
        actor=ctx.actor,
        action="digest.viewed",
        subject=f"student:{student.id}",
        students=[student.id],
        via="chat",
    )
    t = ctx.t
    pages = render_student_pages(built, built.students[0], t)
    page = max(0, min(page, len(pages) - 1))
    text = pages[page]
    buttons: list[Button] = []
    if len(pages) > 1:
        text += "\n" + t._("Page {page} of {pages}", page=page + 1, pages=len(pages))
        stamp = f"dig:p:{student.id}:{_stamp(since)}"
        if page > 0:
            # TRANSLATORS: button label, at most 20 characters
            buttons.append(Button("◀ " + t._("Back"), f"{stamp}:{page - 1}", keep=True))
        if page < len(pages) - 1:
            # TRANSLATORS: button label, at most 20 characters
            buttons.append(Button(t._("Next") + " ▶", f"{stamp}:{page + 1}", keep=True))
    return [
        Reply(
            text=text,
            buttons=tuple(buttons),
            columns=2,
            replaces=replaces,
            concerns=frozenset({student.id}),
        )
    ]


async def _as_file(ctx: Context, counselor: Counselor, since: datetime) -> list[Reply]:
    built = await build_digest(ctx, counselor, since=since)
    await ctx.uow.audit.record(
        at=ctx.now,
        actor=ctx.actor,
        action="digest.viewed",
        students=[s.id for s in built.students],
        via="file",
    )
    t = ctx.tr(counselor.locale)
    text = "\n".join(render_text(built, t, max_len=10_000_000))
    name = f"furikaeri-digest-{ctx.now:%Y-%m-%d}.txt"
    document = Document(filename=name, content=text.encode("utf-8"), mime_type="text/plain")
    concerns = frozenset(s.id for s in built.students)
    text = t._("The whole digest as one file.")
    return [Reply(text=text, document=document, concerns=concerns)]


def _stamp(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def _moment(stamp: str) -> datetime:
    return datetime.fromtimestamp(int(stamp), tz=UTC)
