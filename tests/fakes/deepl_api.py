"""A fake DeepL API server, speaking what the official `deepl` package sends.

    fake = FakeDeepL(auth_key="k:fx")
    with LocalServer(fake.app) as server:
        client = deepl.DeepLClient("k:fx", server_url=server.url)

The package authenticates with `Authorization: DeepL-Auth-Key <key>`, posts
/v2/translate as JSON ({"text": [...], "target_lang": "JA", "source_lang"?: "VI",
"show_billed_characters": true}) and reads `translations[].text`,
`detected_source_language` and `billed_characters`. It lists languages with
GET /v2/languages, sending `type=target` form-encoded in the body of the GET. Errors
carry {"message": ...}: 403 bad key, 456 quota exceeded, 429 too many requests.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.translator_faults import FakeService

# Like DeepL's list: no Nepali, Burmese, Sinhala, Bengali or Mongolian.
SOURCES = ("EN", "JA", "ZH", "KO", "ID", "VI")
TARGETS = ("EN-GB", "EN-US", "JA", "ZH", "ZH-HANS", "ZH-HANT", "KO", "ID", "VI")


class FakeDeepL(FakeService):
    def __init__(
        self,
        *,
        auth_key: str = "fake-deepl-key:fx",
        sources: tuple[str, ...] = SOURCES,
        targets: tuple[str, ...] = TARGETS,
    ) -> None:
        super().__init__()
        self.auth_key = auth_key
        self.sources = sources
        self.targets = targets
        self.app = Starlette(
            routes=[
                Route("/v2/languages", self._languages, methods=["GET"]),
                Route("/v2/translate", self._translate, methods=["POST"]),
            ]
        )

    async def _languages(self, request: Request) -> JSONResponse:
        raw = (await request.body()).decode("utf-8")
        params = {**dict(request.query_params), **dict(parse_qsl(raw))}
        if error := await self._check(request, "/v2/languages", params):
            return error
        if params.get("type") == "target":
            return JSONResponse(
                [{"language": c, "name": c, "supports_formality": False} for c in self.targets]
            )
        return JSONResponse([{"language": c, "name": c} for c in self.sources])

    async def _translate(self, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if error := await self._check(request, "/v2/translate", body):
            return error
        if not isinstance(body, dict) or not isinstance(body.get("text"), list):
            return _error(400, "Parameter 'text' not specified.")
        target = str(body.get("target_lang", "")).upper()
        source = body.get("source_lang")
        if target not in self.targets:
            return _error(400, "Value for 'target_lang' not supported.")
        if source is not None and str(source).upper() not in self.sources:
            return _error(400, "Value for 'source_lang' not supported.")
        translations = []
        for text in body["text"]:
            detected = str(source or self.detected.get(text, "EN")).upper()
            translations.append(
                {
                    "detected_source_language": detected,
                    "text": self.translated(text, target),
                    "billed_characters": len(text),
                }
            )
        return JSONResponse({"translations": translations})

    async def _check(self, request: Request, path: str, body: Any) -> JSONResponse | None:
        fault = await self.record(request.method, path, dict(request.headers), body)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
            return _error(fault.status, headers=headers)
        if request.headers.get("authorization") != f"DeepL-Auth-Key {self.auth_key}":
            return _error(403, "Wrong auth key")
        return None


def _error(status: int, message: str = "", headers: dict[str, str] | None = None) -> JSONResponse:
    default = {
        403: "Authorization failure",
        429: "Too many requests",
        456: "Quota exceeded",
        500: "Internal error",
        503: "Service unavailable",
    }
    body = {"message": message or default.get(status, "Error")}
    return JSONResponse(body, status_code=status, headers=headers)
