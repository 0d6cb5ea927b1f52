"""What the fake translation services share: a phrasebook, recorded calls, and faults
(an error status for the next calls, a slow answer, or down until brought back)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the JSON or form body, parsed


@dataclass
class _Fault:
    path: str
    status: int
    times: int
    retry_after: int | None = None


@dataclass
class FakeService:
    """Thread-safe: the server answers in its own thread while the test drives it."""

    phrases: dict[str, str] = field(default_factory=dict)  # original -> its translation
    detected: dict[str, str] = field(default_factory=dict)  # original -> language code
    down: bool = False  # every call answers 503 until set back to False
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _calls: list[Call] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)
    _delays: list[tuple[str, float, int]] = field(default_factory=list)

    def translated(self, text: str, target: str) -> str:
        return self.phrases.get(text, f"[{target}] {text}")

    def fail_next(
        self, path: str, status: int, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        with self._lock:
            self._faults.append(_Fault(path, status, times, retry_after))

    def delay_next(self, path: str, seconds: float, *, times: int = 1) -> None:
        with self._lock:
            self._delays.append((path, seconds, times))

    def calls(self, path: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if path is None or c.path == path]

    def texts_sent(self) -> list[str]:
        """Every text the service was asked to translate, in order."""
        found: list[str] = []
        for call in self.calls():
            body = call.body if isinstance(call.body, dict) else {}
            for key in ("q", "text"):
                value = body.get(key)
                found.extend(value if isinstance(value, list) else [value] if value else [])
        return found

    async def record(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> _Fault | None:
        """Note the call, wait if asked to, and return the fault to answer with, if any."""
        with self._lock:
            self._calls.append(Call(method, path, headers, body))
            delay = 0.0
            for i, (where, seconds, times) in enumerate(self._delays):
                if where == path:
                    delay = seconds
                    self._delays[i] = (where, seconds, times - 1)
                    if times <= 1:
                        del self._delays[i]
                    break
            fault = None
            if self.down:
                fault = _Fault(path, 503, 1)
            else:
                for item in self._faults:
                    if item.path == path:
                        item.times -= 1
                        if item.times <= 0:
                            self._faults.remove(item)
                        fault = item
                        break
        if delay:
            await asyncio.sleep(delay)
        return fault
