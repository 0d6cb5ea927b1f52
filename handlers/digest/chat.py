"""/digest in chat: a short overview, one student's detail on request (paged), and on
Telegram the whole digest as one file. Only a plain /digest moves "since your last digest".

Its buttons (handlers/buttons.py, "dig:…") carry the window they were made for, so a press
shows the same period as the overview it came from, after a restart too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.db.models import Counselor, Student
from bot.engine.context import Context
from bot.engine.events import Inbound, Kind
from bot.engine.replies import Button, Document, Reply
from handlers.buttons import DigestChoice, DigestFile, DigestOpen, DigestPage
from handlers.common import invalid_button
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
        buttons.append(DigestFile(_stamp(built.since)).button(t._("All as a file"), keep=True))
    replies = [Reply(text=text, concerns=concerns) for text in texts]
    replies[-1] = Reply(text=texts[-1], buttons=tuple(buttons), columns=2, concerns=concerns)
    return replies


def _student_buttons(built: Digest) -> list[Button]:
    since = _stamp(built.since)
    chosen = [s for s in built.students if any(f in ALERT_FLAGS for f in s.flags)]
    chosen += [s for s in built.students if s not in chosen]
    return [
        DigestOpen(s.id, since).button(s.name[:MAX_LABEL], keep=True)
        for s in chosen[:STUDENT_BUTTONS]
    ]


async def digest_choice(choice: DigestChoice, event: Inbound, ctx: Context) -> list[Reply]:
    """The digest's buttons: open a student, turn a page, or get everything as a file.

    Each is checked against what could have been offered: a window that has begun, one of
    the counselor's own students, a page that exists, a file only where files are sent."""
    assert ctx.counselor is not None
    if choice.since > ctx.now.timestamp():  # no window made yet begins in the future
        return invalid_button(ctx)
    match choice:
        case DigestFile(since=since):
            if event.channel not in FILE_CHANNELS:
                return invalid_button(ctx)
            return await _as_file(ctx, ctx.counselor, _moment(since))
        case DigestOpen(student_id=student_id, since=since):
            page, replaces = 0, ""  # a new message: the overview stays readable
        case DigestPage(student_id=student_id, since=since, page=page):
            replaces = event.message_id  # the page turns in place
    student = await ctx.uow.students.of_counselor(ctx.counselor.id, student_id)
    if student is None:
        return invalid_button(ctx)
    replies = await detail(ctx, student, since=_moment(since), page=page, replaces=replaces)
    return replies if replies is not None else invalid_button(ctx)


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
            DigestOpen(s.id, stamp).button(s.label[:MAX_LABEL] or f"#{s.id}", keep=True)
            for s in found[:STUDENT_BUTTONS]
        )
        text = t._("Several students match. Which one?")
        concerns = frozenset(s.id for s in found)
        return [Reply(text=text, buttons=buttons, columns=2, concerns=concerns)]
    replaces = event.message_id if event.kind is Kind.CHOICE else ""
    return await detail(ctx, found[0], since=window, page=0, replaces=replaces) or []


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
) -> list[Reply] | None:
    """One page of one student's detail, with buttons to turn pages; never marks read.
    None when there is no such page (a forged or stale page button)."""
    assert ctx.counselor is not None
    built = await build_digest(
        ctx, ctx.counselor, since=since, student_id=student.id, everyone=True
    )
    t = ctx.t
    pages = render_student_pages(built, built.students[0], t)
    if not 0 <= page < len(pages):
        return None
    await ctx.uow.audit.record(
        at=ctx.now,
        actor=ctx.actor,
        action="digest.viewed",
        subject=f"student:{student.id}",
        students=[student.id],
        via="chat",
    )
    text = pages[page]
    buttons: list[Button] = []
    if len(pages) > 1:
        text += "\n" + t._("Page {page} of {pages}", page=page + 1, pages=len(pages))
        stamp = _stamp(since)
        if page > 0:
            # TRANSLATORS: button label, at most 20 characters
            back = "◀ " + t._("Back")
            buttons.append(DigestPage(student.id, stamp, page - 1).button(back, keep=True))
        if page < len(pages) - 1:
            # TRANSLATORS: button label, at most 20 characters
            ahead = t._("Next") + " ▶"
            buttons.append(DigestPage(student.id, stamp, page + 1).button(ahead, keep=True))
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


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, tz=UTC)
