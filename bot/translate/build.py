"""Build the configured translator (or none): called by the composition root only."""

from __future__ import annotations

from bot.config import Settings
from bot.translate.port import MachineTranslator


def translator_from(settings: Settings) -> MachineTranslator | None:
    if settings.translator == "libretranslate" and settings.libretranslate_url:
        from bot.translate.libretranslate import LibreTranslate

        key = settings.libretranslate_api_key
        return LibreTranslate(
            url=settings.libretranslate_url,
            api_key=key.get_secret_value() if key else None,
            timeout=settings.translator_timeout,
        )
    if settings.translator == "deepl" and settings.deepl_auth_key is not None:
        from bot.translate.deepl_adapter import DeepL

        return DeepL(
            auth_key=settings.deepl_auth_key.get_secret_value(),
            server_url=settings.deepl_server_url,
            timeout=settings.translator_timeout,
        )
    return None


def service_name(settings: Settings) -> str | None:
    """Which service sees the answers, for the consent text: None when none does."""
    if settings.translator == "libretranslate" and settings.libretranslate_url:
        from urllib.parse import urlsplit

        host = urlsplit(settings.libretranslate_url).hostname or settings.libretranslate_url
        return f"LibreTranslate ({host})"
    if settings.translator == "deepl":
        return "DeepL"
    return None
