"""A fake LibreTranslate server: the real HTTP API (/languages, /translate, /detect).

    fake = FakeLibreTranslate(api_key="k")
    with LocalServer(fake.app) as server:
        translator = LibreTranslate(url=server.url, api_key="k")

Like a LibreTranslate with the Argos models of a typical install: Japanese, English,
Chinese (zh-Hans, zh-Hant), Korean, Vietnamese, Indonesian and Bengali, but no Nepali,
Burmese, Sinhala or Mongolian. Errors answer {"error": ...} as LibreTranslate does.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.translator_faults import FakeService

CODES = ("en", "ja", "zh-Hans", "zh-Hant", "ko", "vi", "id", "bn")


class FakeLibreTranslate(FakeService):
    def __init__(self, *, api_key: str | None = None, codes: tuple[str, ...] = CODES) -> None:
        super().__init__()
        self.api_key = api_key
        self.codes = codes
        self.app = Starlette(
            routes=[
                Route("/languages", self._languages, methods=["GET"]),
                Route("/translate", self._translate, methods=["POST"]),
                Route("/detect", self._detect, methods=["POST"]),
            ]
        )

    async def _languages(self, request: Request) -> JSONResponse:
        if fault := await self.record("GET", "/languages", dict(request.headers), None):
            return _error(fault.status)
        return JSONResponse(
            [
                {"code": code, "name": code, "targets": [c for c in self.codes if c != code]}
                for code in self.codes
            ]
        )

    async def _translate(self, request: Request) -> JSONResponse:
        body = await _body(request)
        if fault := await self.record("POST", "/translate", dict(request.headers), body):
            return _error(fault.status)
        if refused := self._refused(body):
            return refused
        q, source, target = body.get("q"), body.get("source"), body.get("target")
        if not q:
            return _error(400, "Invalid request: missing q parameter")
        if body.get("format", "text") not in ("text", "html"):
            return _error(400, f"{body['format']} format is not supported")
        if target not in self.codes:
            return _error(400, f"{target} is not supported")
        if source != "auto" and source not in self.codes:
            return _error(400, f"{source} is not supported")
        texts = q if isinstance(q, list) else [q]
        out = [self.translated(str(text), str(target)) for text in texts]
        answer: dict[str, Any] = {"translatedText": out if isinstance(q, list) else out[0]}
        if source == "auto":
            found = [{"confidence": 90.0, "language": self._detect_one(str(t))} for t in texts]
            answer["detectedLanguage"] = found if isinstance(q, list) else found[0]
        return JSONResponse(answer)

    async def _detect(self, request: Request) -> JSONResponse:
        body = await _body(request)
        if fault := await self.record("POST", "/detect", dict(request.headers), body):
            return _error(fault.status)
        if refused := self._refused(body):
            return refused
        return JSONResponse([{"confidence": 90.0, "language": self._detect_one(body.get("q"))}])

    def _detect_one(self, text: Any) -> str:
        return self.detected.get(str(text), "en")

    def _refused(self, body: dict[str, Any]) -> JSONResponse | None:
        if self.api_key is not None and body.get("api_key") != self.api_key:
            return _error(403, "Invalid API key")
        return None


async def _body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        data = await request.json()
        return data if isinstance(data, dict) else {}
    return dict(await request.form())


def _error(status: int, message: str | None = None) -> JSONResponse:
    default = {
        400: "Invalid request",
        403: "Invalid API key",
        429: "Too many request limits violations",
        500: "Cannot translate text",
        503: "Service Unavailable",
    }
    return JSONResponse({"error": message or default.get(status, "Error")}, status_code=status)
