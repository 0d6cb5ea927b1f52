"""`furikaeri …`: run, demo, database, counselors, invites, sessions, digests, data."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer

from bot import doctor as checks
from bot.bootstrap import ROLES, Role, build, prompt_book
from bot.config import Settings, settings_or_exit
from bot.db.migrate import upgrade
from bot.demo import AdminSteps, builtin_script, parse_script, read_line, run_demo
from bot.engine.core import Engine
from bot.errors import one_line_for_known_errors
from bot.i18n import SHIPPED_LOCALES, set_strict, translator
from bot.logs import secrets_of
from bot.logs import setup as setup_logging
from bot.runner import serve
from handlers import admin
from handlers.digest.build import parse_since
from handlers.digest.render import render_csv, render_json, render_text

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
counselor_app = typer.Typer(no_args_is_help=True, help="Counselors (admin only).")
outbox_app = typer.Typer(invoke_without_command=True, help="Messages waiting to be sent.")
inbox_app = typer.Typer(invoke_without_command=True, help="Events failed or waiting to be handled.")
app.add_typer(db_app, name="db")
app.add_typer(counselor_app, name="counselor")
app.add_typer(outbox_app, name="outbox")
app.add_typer(inbox_app, name="inbox")

T = TypeVar("T")
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
CounselorOpt = Annotated[int, typer.Option("--counselor", help="The counselor's id.")]


def _settings() -> Settings:
    settings = settings_or_exit()
    setup_logging(settings.log_level, json_lines=settings.log_json, secrets=secrets_of(settings))
    return settings


def _with_engine(work: Callable[[Any], Awaitable[T]]) -> T:
    """Build the app without channels, migrate, run `work(engine)`, close."""
    settings = _settings()
    prompts = prompt_book(settings)

    async def main() -> T:
        built = build(settings, channels={}, prompts=prompts)
        try:
            await upgrade(built.db.engine)
            return await work(built.engine)
        finally:
            await built.db.dispose()

    try:
        return asyncio.run(main())
    except admin.AdminError as exc:
        typer.echo(f"furikaeri: {exc}", err=True)
        raise typer.Exit(1) from None


def _table(rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell (East Asian wide characters count twice)."""
    from unicodedata import east_asian_width

    def width(cell: str) -> int:
        return sum(2 if east_asian_width(c) in "WF" else 1 for c in cell)

    widths = [max(width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell + " " * (w - width(cell)) for cell, w in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    )


def _out(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else text)


@db_app.command("upgrade")
def db_upgrade(as_json: JsonFlag = False) -> None:
    """Migrate the database to the newest schema."""

    async def work(engine: Any) -> None:
        return None

    _with_engine(work)
    _out({"status": "ok"}, as_json, "database is up to date")


@counselor_app.command("add")
def counselor_add(
    name: str,
    locale: Annotated[str, typer.Option(help="The counselor's language.")] = "ja",
    is_admin: Annotated[bool, typer.Option("--admin", help="May administer.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Add a counselor; prints their id and a link code for their chat account."""
    if locale not in SHIPPED_LOCALES:
        typer.echo(f"furikaeri: --locale must be one of {', '.join(SHIPPED_LOCALES)}", err=True)
        raise typer.Exit(2)
    counselor_id, code = _with_engine(
        lambda e: admin.add_counselor(e, name=name, locale=locale, is_admin=is_admin)
    )
    _out(
        {"id": counselor_id, "link_code": code},
        as_json,
        f"counselor id: {counselor_id}\nlink code: {code}\n"
        f"Send '/start {code}' to the bot from the counselor's Telegram or LINE account.",
    )


@counselor_app.command("list")
def counselor_list(as_json: JsonFlag = False) -> None:
    """List the counselors: id, name, language, linked chat apps, students."""
    rows = _with_engine(admin.list_counselors)
    table: list[tuple[str, ...]] = [("id", "name", "language", "linked", "students", "status")]
    for r in rows:
        status = "removed" if r["removed_at"] else ("admin" if r["admin"] else "")
        linked = ", ".join(r["linked"]) or "not linked"
        table.append((str(r["id"]), r["name"], r["locale"], linked, str(r["students"]), status))
    _out(rows, as_json, _table(table) if rows else "no counselors yet")


@counselor_app.command("relink")
def counselor_relink(counselor_id: int, as_json: JsonFlag = False) -> None:
    """Unlink a counselor's chat account (e.g. a lost phone) and print a new link code."""
    code = _with_engine(lambda e: admin.relink_counselor(e, counselor_id=counselor_id))
    _out(
        {"id": counselor_id, "link_code": code},
        as_json,
        f"link code: {code}\nThe old chat account is unlinked. "
        f"Send '/start {code}' to the bot from the counselor's new account.",
    )


@counselor_app.command("remove")
def counselor_remove(
    counselor_id: int,
    hand_over_to: Annotated[
        int | None, typer.Option("--hand-over-to", help="Give their students to this counselor.")
    ] = None,
    keep_students: Annotated[
        bool, typer.Option("--keep-students", help="Keep the students with this counselor.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Unlink a counselor and revoke their codes; their students are kept or handed over."""
    if (hand_over_to is None) == (not keep_students):
        typer.echo("furikaeri: choose --keep-students or --hand-over-to ID", err=True)
        raise typer.Exit(2)
    result = _with_engine(
        lambda e: admin.remove_counselor(e, counselor_id=counselor_id, hand_over_to=hand_over_to)
    )
    kept = (
        f"{result['students_handed_over']} student(s) handed over to counselor {hand_over_to}"
        if hand_over_to is not None
        else "their students are kept (furikaeri digest --counselor still reads them)"
    )
    _out(result, as_json, f"counselor {counselor_id} removed; {kept}")


@app.command()
def invite(
    counselor: CounselorOpt,
    name: Annotated[str, typer.Option(help="The student's name, for you.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Create a single-use invite code for a new student of this counselor."""

    async def work(engine: Engine) -> tuple[str, str | None]:
        code = await admin.create_invite(engine, counselor_id=counselor, label=name)
        return code, admin.join_link(engine, code)

    code, link = _with_engine(work)
    text = f"invite code: {code}\nThe student sends: /start {code}"
    if link:
        text += f"\nor opens: {link}"
    _out({"invite_code": code, "link": link}, as_json, text)


@app.command()
def students(counselor: CounselorOpt, as_json: JsonFlag = False) -> None:
    """List a counselor's students."""
    rows = _with_engine(lambda e: admin.list_students(e, counselor_id=counselor))
    table: list[tuple[str, ...]] = [("id", "name", "language", "status", "last answer", "flags")]
    table += [
        (f"#{r.id}", r.name, r.locale, r.status_text, r.last_answer_text, r.flags_text or "–")
        for r in rows
    ]
    _out([r.as_json() for r in rows], as_json, _table(table) if rows else "no students yet")


@app.command()
def session(
    student: int,
    counselor: CounselorOpt,
    topics: Annotated[str, typer.Option(help="Comma-separated topic ids.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Log a session with a student and start their reflection."""
    topic_ids = [t.strip() for t in topics.split(",") if t.strip()]
    result = _with_engine(
        lambda e: admin.log_session(e, counselor_id=counselor, student_id=student, topics=topic_ids)
    )
    _out(result, as_json, result["note"])


@app.command()
def digest(
    counselor: CounselorOpt,
    since: Annotated[str, typer.Option(help="7d, 12h, 2w or a date; default: last digest")] = "",
    fmt: Annotated[str, typer.Option("--format", help="text, csv or json")] = "text",
    mark_read: Annotated[
        bool, typer.Option("--mark-read", help="Count it as the counselor's digest.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print what the counselor's students wrote (never marks it read unless asked)."""
    fmt = "json" if as_json else fmt
    if fmt not in ("text", "csv", "json"):
        typer.echo("furikaeri: --format must be text, csv or json", err=True)
        raise typer.Exit(2)
    start = parse_since(since, now=datetime.now(UTC)) if since else None
    if since and start is None:
        typer.echo("furikaeri: --since takes 7d, 12h, 2w or a date like 2026-04-01", err=True)
        raise typer.Exit(2)
    built = _with_engine(
        lambda e: admin.digest(e, counselor_id=counselor, since=start, mark_read=mark_read)
    )
    if fmt == "csv":
        sys.stdout.write(render_csv(built))
    elif fmt == "json":
        typer.echo(render_json(built))
    else:
        typer.echo("\n".join(render_text(built, translator(built.locale), max_len=1_000_000)))


@app.command()
def export(
    student: int,
    counselor: Annotated[int | None, typer.Option(help="Only if this counselor's student.")] = None,
) -> None:
    """Print everything stored about one student, as JSON."""
    data = _with_engine(
        lambda e: admin.export_student(e, student_id=student, counselor_id=counselor)
    )
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@app.command()
def forget(
    student: int,
    counselor: Annotated[int | None, typer.Option(help="Only if this counselor's student.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete a student's answers and profile for good."""
    if not yes and not typer.confirm(f"Delete all data of student {student}?"):
        raise typer.Exit(1)
    _with_engine(lambda e: admin.forget(e, student_id=student, counselor_id=counselor))
    _out({"deleted": student}, as_json, f"student {student} deleted")


@outbox_app.callback()
def outbox(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Pending and failed messages, and when the next ones are due."""
    if ctx.invoked_subcommand is not None:
        return
    status = _with_engine(admin.outbox_status)
    counts = status["counts"]
    lines = [
        f"pending: {counts.get('pending', 0)} (being sent: {status['in_flight']})",
        f"failed: {counts.get('failed', 0)}",
        f"sent: {counts.get('sent', 0)}, cancelled: {counts.get('cancelled', 0)}",
        f"next due: {', '.join(status['next_due']) or '-'}",
    ]
    for row in status["failed"]:
        retry = "" if row["retryable"] else " (not retryable)"
        lines.append(
            f"  failed #{row['id']} {row['channel']} after {row['attempts']} attempt(s): "
            f"{row['error'] or '-'}{retry}"
        )
    if status["failed"]:
        lines.append("Send them again with: furikaeri outbox retry")
    _out(status, as_json, "\n".join(lines))


@outbox_app.command("retry")
def outbox_retry(as_json: JsonFlag = False) -> None:
    """Queue failed messages again; the running bot sends them."""
    n = _with_engine(admin.outbox_retry)
    _out({"requeued": n}, as_json, f"{n} message(s) queued again")


def _age(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@inbox_app.callback()
def inbox(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Events whose handling failed, and those waiting to be handled (never their text)."""
    if ctx.invoked_subcommand is not None:
        return
    status = _with_engine(admin.inbox_status)
    counts = status["counts"]
    lines = [f"failed: {counts['failed']}", f"pending: {counts['pending']}"]
    for row in status["events"]:
        error = f": {row['error']}" if row["error"] else ""
        lines.append(
            f"  #{row['id']} {row['channel']} {row['kind'] or '-'} {row['status']}, "
            f"{_age(row['age_seconds'])} old, {row['attempts']} attempt(s){error}"
        )
    if counts["failed"]:
        lines.append("Handle them again with: furikaeri inbox retry [ID]")
    _out(status, as_json, "\n".join(lines))


@inbox_app.command("retry")
def inbox_retry(
    event: Annotated[int | None, typer.Argument(help="One event's id (default: all).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Queue failed events again; the running bot handles them within a minute."""
    ids = _with_engine(lambda e: admin.inbox_retry(e, event_id=event))
    text = (
        f"{len(ids)} event(s) queued again; the running bot handles them within a minute "
        "(or at its next start)"
        if ids
        else "no failed events to retry"
    )
    _out({"requeued": ids}, as_json, text)


RoleOpt = Annotated[
    str,
    typer.Option(
        "--role",
        help="all: everything in this one process. On PostgreSQL a deployment can split it: "
        "one `web` process (HTTP: webhooks into the inbox, /healthz, /metrics) and any "
        "number of `worker` processes (handling, schedules, sending).",
    ),
]


@app.command()
def run(role: RoleOpt = "all") -> None:
    """Serve the configured channels (Telegram, LINE) with webhooks and schedules."""
    if role not in ROLES:
        typer.echo(f"furikaeri: --role must be one of {', '.join(ROLES)}, not {role!r}", err=True)
        raise typer.Exit(2)
    settings = _settings()
    if role != "all" and not settings.database_url.startswith("postgresql"):
        typer.echo(
            f"furikaeri: --role {role} needs PostgreSQL (FURIKAERI_DATABASE_URL); "
            "on SQLite one process does everything: furikaeri run",
            err=True,
        )
        raise typer.Exit(2)
    if not (settings.telegram_enabled or settings.line_enabled):
        typer.echo(
            "furikaeri: no channel configured: set FURIKAERI_TELEGRAM_TOKEN, or "
            "FURIKAERI_LINE_CHANNEL_SECRET and FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN. "
            "To try the bot without them: furikaeri demo",
            err=True,
        )
        raise typer.Exit(2)
    prompts = prompt_book(settings)
    raise typer.Exit(asyncio.run(serve(settings, prompts=prompts, role=cast(Role, role))))


@app.command()
def doctor(as_json: JsonFlag = False) -> None:
    """Check the deployment: database, schema, prompts, tokens, webhooks, help contacts."""
    settings = _settings()
    results = asyncio.run(
        checks.run_checks(checks.Deployment(settings, lambda: prompt_book(settings)))
    )
    typer.echo(checks.render_json(results) if as_json else checks.render_text(results))
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


@app.command()
def demo(
    script: Annotated[Path | None, typer.Option(help="Play this script non-interactively.")] = None,
    locale: Annotated[str, typer.Option(help="Language of the demo.")] = "en",
) -> None:
    """Play counselor and student in the terminal, on a temporary database."""
    if locale not in SHIPPED_LOCALES:
        typer.echo(f"furikaeri: --locale must be one of {', '.join(SHIPPED_LOCALES)}", err=True)
        raise typer.Exit(2)
    prompt_book(settings_or_exit())  # a broken environment is reported before anything starts
    setup_logging("WARNING", json_lines=False)
    set_strict(True)
    lines = None
    if script is not None:
        try:
            lines = parse_script(script.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            typer.echo(f"furikaeri: {script}: {exc}", err=True)
            raise typer.Exit(2) from None
    elif not sys.stdin.isatty():
        lines = builtin_script(locale)
    raise typer.Exit(
        asyncio.run(run_demo(locale=locale, script=lines, admin=demo_admin(), read=read_line))
    )


def demo_admin() -> AdminSteps:
    """The admin's part in the demo, from the same use cases the commands above run."""

    async def add_counselor(engine: Engine, name: str, locale: str) -> tuple[int, str]:
        return await admin.add_counselor(engine, name=name, locale=locale, is_admin=False)

    async def create_invite(engine: Engine, counselor_id: int, label: str) -> str:
        return await admin.create_invite(engine, counselor_id=counselor_id, label=label)

    async def digest_text(engine: Engine, counselor_id: int, locale: str) -> list[str]:
        built = await admin.digest(engine, counselor_id=counselor_id, since=None)
        return render_text(built, translator(locale), max_len=100_000)

    return AdminSteps(add_counselor, create_invite, digest_text)


def main() -> None:
    with one_line_for_known_errors():  # bot/errors.py maps every everyday mistake
        app()


if __name__ == "__main__":
    main()
