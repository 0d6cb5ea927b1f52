"""Ask Telegram and LINE who the bot is and where its webhook points, for `furikaeri doctor`.

Read-only calls (getMe, getWebhookInfo; bot info, webhook endpoint): nothing here changes
what the platforms do. Errors come back as ProbeFailed with the token never in the text.
"""

from __future__ import annotations

from dataclasses import dataclass


class ProbeFailed(Exception):
    """The platform could not be asked; `refused` when it turned the credentials down."""

    def __init__(self, reason: str, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.refused = refused


@dataclass(frozen=True)
class TelegramBot:
    username: str
    webhook_url: str  # "" when Telegram delivers by getUpdates (polling)
    webhook_error: str | None  # Telegram's last failure to deliver to the webhook
    pending_updates: int


@dataclass(frozen=True)
class LineBot:
    display_name: str
    basic_id: str
    webhook_url: str | None  # None when LINE would not say
    webhook_active: bool


async def probe_telegram(*, token: str, api_url: str, timeout: float) -> TelegramBot:
    """getMe and getWebhookInfo with this token."""
    # Imported here: each SDK takes seconds to import, and a deployment may use only one.
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError
    from telegram.request import HTTPXRequest

    request = HTTPXRequest(
        connection_pool_size=2,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=timeout,
        pool_timeout=timeout,
    )
    bot = Bot(token, base_url=api_url, request=request)
    try:
        async with bot:  # initialize() calls getMe
            info = await bot.get_webhook_info()
            return TelegramBot(
                username=bot.username,
                webhook_url=info.url or "",
                webhook_error=info.last_error_message,
                pending_updates=info.pending_update_count,
            )
    except InvalidToken:
        raise ProbeFailed("Telegram refused the token", refused=True) from None
    except NetworkError as exc:  # TimedOut is a NetworkError
        raise ProbeFailed(f"cannot reach Telegram: {_redacted(str(exc), token)}") from None
    except TelegramError as exc:
        raise ProbeFailed(f"Telegram answered: {_redacted(str(exc), token)}") from None


async def probe_line(*, access_token: str, api_url: str, timeout: float) -> LineBot:
    """Bot info and the webhook endpoint with this channel access token."""
    import aiohttp
    from linebot.v3.messaging import ApiException, AsyncApiClient, AsyncMessagingApi, Configuration

    config = Configuration(host=api_url.rstrip("/"), access_token=access_token)
    try:
        async with AsyncApiClient(config) as client:
            api = AsyncMessagingApi(client)
            info = await api.get_bot_info(_request_timeout=timeout)
            try:
                hook = await api.get_webhook_endpoint(_request_timeout=timeout)
                url: str | None = hook.endpoint
                active = bool(hook.active)
            except ApiException:
                url, active = None, False
            return LineBot(info.display_name, info.basic_id, url, active)
    except ApiException as exc:
        if exc.status == 401:
            raise ProbeFailed("LINE refused the channel access token", refused=True) from None
        raise ProbeFailed(f"LINE answered {exc.status} {exc.reason or ''}".rstrip()) from None
    except (TimeoutError, aiohttp.ClientError) as exc:
        reason = _redacted(str(exc) or type(exc).__name__, access_token)
        raise ProbeFailed(f"cannot reach LINE: {reason}") from None


def _redacted(text: str, secret: str) -> str:
    return text.replace(secret, "<redacted>") if secret else text
