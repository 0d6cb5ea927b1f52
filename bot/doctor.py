"""`furikaeri doctor`: check a deployment in one command, one line per check with the fix.

Each check is a small async function of the Deployment returning its results (none when
it does not apply); CHECKS lists them in the order they print. Add a check by writing one
function and listing it. Nothing here changes the database or the platforms' settings.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import Settings, setting_names
from bot.errors import database_problem
from bot.i18n import SHIPPED_LOCALES, translator
from bot.prompts import PromptBook, PromptError
from bot.translate.build import service_name, translator_from
from bot.translate.port import TranslatorRejected, TranslatorUnavailable
from bot.unknown_settings import unknown_variable_warnings

OK, FAILED = "✓", "✗"


@dataclass(frozen=True)
class Result:
    """One line of the report: what was checked, what was found, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # a ✗ the bot runs with, but should not be left so

    def line(self) -> str:
        mark = OK if self.ok else FAILED
        name = f"{self.name} (warning)" if self.warning and not self.ok else self.name
        fix = f" — fix: {self.fix}" if self.fix and not self.ok else ""
        return f"{mark} {name}: {self.detail}{fix}"


@dataclass
class Deployment:
    """What the checks look at; `prompts` loads the prompt book the way `run` does."""

    settings: Settings
    prompts: Callable[[], PromptBook]
    env_file: Path | None = Path(".env")
    _book: PromptBook | None = field(default=None, repr=False)

    def book(self) -> PromptBook:
        if self._book is None:
            self._book = self.prompts()
        return self._book


Check = Callable[[Deployment], Awaitable[list[Result]]]


async def check_environment(d: Deployment) -> list[Result]:
    """Every FURIKAERI_* variable is a setting."""
    warnings = unknown_variable_warnings(setting_names(), env_file=d.env_file)
    if not warnings:
        return [Result("settings", True, "every FURIKAERI_* variable is a known setting")]
    return [
        Result("settings", False, warning, "rename or remove it", warning=True)
        for warning in warnings
    ]


async def check_time_zone_and_languages(d: Deployment) -> list[Result]:
    """The time zone resolves and every language's catalog loads."""
    now = datetime.now(UTC).astimezone(d.settings.zone)
    results = [
        Result(
            "time zone",
            True,
            f"{d.settings.timezone} (local time now {now:%Y-%m-%d %H:%M})",
        )
    ]
    broken = []
    for locale in SHIPPED_LOCALES:
        try:
            translator(locale)
        except Exception as exc:  # a missing or unreadable catalog
            broken.append(f"{locale} ({type(exc).__name__})")
    if broken:
        results.append(
            Result(
                "languages",
                False,
                f"catalogs do not load: {', '.join(broken)}",
                "reinstall furikaeri (the catalogs ship inside the package)",
            )
        )
    else:
        results.append(
            Result(
                "languages",
                True,
                f"{len(SHIPPED_LOCALES)} catalogs load; default {d.settings.default_locale}",
            )
        )
    return results


async def check_prompts(d: Deployment) -> list[Result]:
    """Question sets, topics, schedule and safety file load and validate."""
    try:
        book = d.book()
    except PromptError as exc:
        return [Result("prompts", False, str(exc), "correct the file and field named")]
    followups = ", ".join(f.set for f in book.schedule.followups) or "none"
    return [
        Result(
            "prompts",
            True,
            f"{len(book.sets)} question sets, {len(book.topics)} topics, follow-ups: {followups}",
        )
    ]


async def check_help_contacts(d: Deployment) -> list[Result]:
    """The safety contacts include the deployment's own, not only the shipped national ones."""
    try:
        contacts = d.book().safety.contacts
    except PromptError:
        return []  # reported by check_prompts
    own = [c for c in contacts if c.local]
    if own:
        reader = translator(d.settings.default_locale)
        names = ", ".join(c.text("name", reader) for c in own)
        return [Result("help contacts", True, f"{len(contacts)} configured, your own: {names}")]
    numbers = ", ".join(c.phone for c in contacts)
    return [
        Result(
            "help contacts",
            False,
            f"only the shipped national numbers ({numbers})",
            "add your university's counseling service and local help lines to the contacts "
            "in your safety.yaml (see the comments in prompts/safety.yaml)",
            warning=True,
        )
    ]


async def check_database(d: Deployment) -> list[Result]:
    """The database answers, and its schema is at the newest migration."""
    from bot.db.engine import create_test_engine

    url = d.settings.database_url
    shown = make_url(url).render_as_string(hide_password=True)
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None and not sqlite_file.exists():  # connecting would create it
        return [
            Result(
                "database",
                False,
                f"the SQLite file {sqlite_file} does not exist yet",
                "furikaeri db upgrade",
            )
        ]
    engine = create_test_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = await conn.run_sync(_current_revision)
    except Exception as exc:
        reason = database_problem(exc, url) or _first_line(exc)
        return [Result("database", False, reason, "check FURIKAERI_DATABASE_URL")]
    finally:
        await engine.dispose()
    return [Result("database", True, f"{shown} answers"), _schema_result(current)]


async def check_telegram(d: Deployment) -> list[Result]:
    """The token works, the invite username matches, the webhook is where it should be."""
    from bot.channels.probes import ProbeFailed, probe_telegram

    s = d.settings
    if s.telegram_token is None:
        return []
    try:
        bot = await probe_telegram(
            token=s.telegram_token.get_secret_value(),
            api_url=s.telegram_api_url,
            timeout=s.api_timeout,
        )
    except ProbeFailed as exc:
        fix = (
            "copy the token from @BotFather into FURIKAERI_TELEGRAM_TOKEN"
            if exc.refused
            else "check FURIKAERI_TELEGRAM_API_URL and this machine's outbound HTTPS"
        )
        return [Result("telegram", False, str(exc), fix)]
    results = [Result("telegram", True, f"the token belongs to @{bot.username}")]
    results.append(_telegram_username(s, bot.username))
    results.append(_telegram_webhook(s, bot.webhook_url, bot.webhook_error))
    return results


async def check_line(d: Deployment) -> list[Result]:
    """The channel access token works and LINE's webhook points at /webhook/line."""
    from bot.channels.probes import ProbeFailed, probe_line

    s = d.settings
    if s.line_channel_access_token is None:
        return []
    try:
        bot = await probe_line(
            access_token=s.line_channel_access_token.get_secret_value(),
            api_url=s.line_api_url,
            timeout=s.api_timeout,
        )
    except ProbeFailed as exc:
        fix = (
            "issue a channel access token (long-lived) in the LINE Developers console and "
            "put it in FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN"
            if exc.refused
            else "check FURIKAERI_LINE_API_URL and this machine's outbound HTTPS"
        )
        return [Result("line", False, str(exc), fix)]
    results = [Result("line", True, f"the token belongs to {bot.display_name} ({bot.basic_id})")]
    results.append(_line_webhook(s, bot.webhook_url, bot.webhook_active))
    return results


async def check_channels(d: Deployment) -> list[Result]:
    """At least one chat platform is configured."""
    s = d.settings
    if s.telegram_enabled or s.line_enabled:
        return []
    return [
        Result(
            "channels",
            False,
            "neither Telegram nor LINE is configured",
            "set FURIKAERI_TELEGRAM_TOKEN, or FURIKAERI_LINE_CHANNEL_SECRET and "
            "FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN",
        )
    ]


async def check_translator(d: Deployment) -> list[Result]:
    """The machine translation service answers, when one is configured."""
    service = translator_from(d.settings)
    if service is None:
        return []
    name = service_name(d.settings) or d.settings.translator
    try:
        works = await service.supports(None, d.settings.default_locale)
    except TranslatorUnavailable as exc:
        fix = "check that it runs, and FURIKAERI_LIBRETRANSLATE_URL or FURIKAERI_DEEPL_SERVER_URL"
        return [Result("translator", False, f"{name} does not answer ({exc})", fix)]
    except TranslatorRejected as exc:
        fix = "check the key (FURIKAERI_LIBRETRANSLATE_API_KEY / FURIKAERI_DEEPL_AUTH_KEY)"
        return [Result("translator", False, f"{name} refused the request ({exc})", fix)]
    finally:
        await service.aclose()
    if not works:
        return [
            Result(
                "translator",
                False,
                f"{name} cannot translate into {d.settings.default_locale}",
                "choose a service that offers the counselors' language",
                warning=True,
            )
        ]
    return [Result("translator", True, f"{name} answers")]


CHECKS: list[Check] = [
    check_environment,
    check_time_zone_and_languages,
    check_prompts,
    check_help_contacts,
    check_database,
    check_channels,
    check_telegram,
    check_line,
    check_translator,
]


async def run_checks(deployment: Deployment, checks: list[Check] | None = None) -> list[Result]:
    """Run every check in order; a check that crashes is reported, not raised."""
    results: list[Result] = []
    for check in checks or CHECKS:
        try:
            results.extend(await check(deployment))
        except Exception as exc:
            name = check.__name__.removeprefix("check_").replace("_", " ")
            results.append(Result(name, False, f"the check failed: {_first_line(exc)}"))
    return results


def render_text(results: list[Result]) -> str:
    failed = sum(not r.ok for r in results)
    summary = (
        f"all {len(results)} checks hold"
        if not failed
        else f"{failed} of {len(results)} checks need attention"
    )
    return "\n".join([*(r.line() for r in results), summary])


def render_json(results: list[Result]) -> str:
    body = {"ok": all(r.ok for r in results), "checks": [asdict(r) for r in results]}
    return json.dumps(body, ensure_ascii=False, indent=2)


# ---------------------------------------------------------------------------- helpers


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser().resolve()


def _current_revision(connection: object) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()  # type: ignore[arg-type]


def _schema_result(current: str | None) -> Result:
    from alembic.script import ScriptDirectory

    from bot.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if current == head:
        return Result("schema", True, f"at the newest migration ({head})")
    if current is None:
        return Result("schema", False, "no tables yet", "furikaeri db upgrade")
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        return Result(
            "schema",
            False,
            f"at {current}, which this furikaeri does not know (a newer version migrated it)",
            "install the furikaeri version that migrated this database",
        )
    return Result(
        "schema",
        False,
        f"at {current}, the newest is {head}",
        "furikaeri db upgrade (furikaeri run also migrates at start)",
    )


def _telegram_username(s: Settings, username: str) -> Result:
    configured = (s.telegram_bot_username or "").removeprefix("@")
    if not configured:
        return Result(
            "telegram invites",
            False,
            "invites carry no t.me link",
            f"set FURIKAERI_TELEGRAM_BOT_USERNAME={username}",
            warning=True,
        )
    if configured.lower() != username.lower():
        return Result(
            "telegram invites",
            False,
            f"FURIKAERI_TELEGRAM_BOT_USERNAME is {configured}, but the token is @{username}'s: "
            "invite links would open another bot",
            f"set FURIKAERI_TELEGRAM_BOT_USERNAME={username}",
        )
    return Result("telegram invites", True, f"links open t.me/{username}")


def _telegram_webhook(s: Settings, registered: str, error: str | None) -> Result:
    wanted = s.telegram_webhook_url or ""
    if not wanted:
        if registered:
            return Result(
                "telegram webhook",
                False,
                f"polling is configured, but Telegram delivers to {registered}: is another "
                "deployment using this token?",
                "stop the other deployment; furikaeri run removes the webhook at start",
                warning=True,
            )
        return Result("telegram webhook", True, "none: updates are fetched by long polling")
    if problem := _webhook_url_problem(wanted, "/webhook/telegram"):
        return Result(
            "telegram webhook",
            False,
            problem[0],
            "fix FURIKAERI_TELEGRAM_WEBHOOK_URL (or make sure the proxy maps it there)",
            warning=problem[1],
        )
    if not registered:
        return Result(
            "telegram webhook",
            False,
            "not registered with Telegram yet",
            "start furikaeri run (it registers FURIKAERI_TELEGRAM_WEBHOOK_URL)",
        )
    if registered != wanted:
        return Result(
            "telegram webhook",
            False,
            f"Telegram delivers to {registered}, not to FURIKAERI_TELEGRAM_WEBHOOK_URL {wanted}",
            "restart furikaeri run to register it; check no other deployment uses this token",
        )
    if error:
        return Result(
            "telegram webhook",
            False,
            f"Telegram could not deliver to {wanted}: {error}",
            "make the reverse proxy pass /webhook/telegram to "
            f"{s.http_host}:{s.http_port} and check its TLS certificate",
        )
    return Result("telegram webhook", True, f"Telegram delivers to {wanted}")


def _line_webhook(s: Settings, endpoint: str | None, active: bool) -> Result:
    console = "in the LINE Developers console (Messaging API tab)"
    expected = _line_url_guess(s)
    target = expected or "https://<your host>/webhook/line"
    if endpoint is None:
        return Result(
            "line webhook",
            False,
            "LINE did not say which webhook URL is set",
            f"check {console} that the webhook URL is {target}",
            warning=True,
        )
    if not endpoint:
        return Result("line webhook", False, "no webhook URL set", f"set it to {target} {console}")
    if problem := _webhook_url_problem(endpoint, "/webhook/line"):
        return Result(
            "line webhook", False, problem[0], f"set it to {target} {console}", warning=problem[1]
        )
    if expected and endpoint != expected:
        return Result(
            "line webhook",
            False,
            f"LINE delivers to {endpoint}, another host than the Telegram webhook's",
            f"set it to {expected} {console}, if both run here",
            warning=True,
        )
    if not active:
        return Result(
            "line webhook", False, f"{endpoint} is set but off", f"turn on Use webhook {console}"
        )
    return Result("line webhook", True, f"LINE delivers to {endpoint}")


def _line_url_guess(s: Settings) -> str | None:
    """The LINE webhook URL on the host the Telegram webhook uses, if there is one."""
    url = s.telegram_webhook_url or ""
    if url.endswith("/webhook/telegram"):
        return url.removesuffix("/webhook/telegram") + "/webhook/line"
    return None


def _webhook_url_problem(url: str, path: str) -> tuple[str, bool] | None:
    """What is wrong with a public webhook URL, and whether it is only a warning (a
    reverse proxy may rewrite the path)."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return f"{url} is not an https:// URL (both platforms require HTTPS)", False
    if not parts.path.endswith(path):
        return f"{url} does not end in {path}, where furikaeri listens", True
    return None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
