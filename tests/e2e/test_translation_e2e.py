"""End to end: a Vietnamese student on Telegram, a Japanese counselor, a translator.

The real app (webhook mode) with PTB against the fake Bot API and the real translator
adapter against its fake service. While the service is down the digest shows the
originals only; once it is back the translations catch up and appear under them, in the
chat digest, the CSV and the JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.i18n import translator
from handlers import admin
from handlers.digest.render import render_csv, render_json
from tests.e2e.world import World, world_settings
from tests.fakes.deepl_api import FakeDeepL
from tests.fakes.libretranslate_api import FakeLibreTranslate
from tests.fakes.server import LocalServer, Swappable
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.translation_fixtures import deepl_settings, libretranslate_settings

COUNSELOR = 100
STUDENT = 200
ANSWERS = {
    "Tôi nhận ra mình nói quá nhanh khi phỏng vấn.": "面接で話すのが速すぎると気づきました。",
    "Visa thay đổi mất bao lâu?": "ビザの変更にはどのくらいかかりますか？",
    "Luyện phỏng vấn với một người bạn.": "友達と面接の練習をする。",
}
VI, JA = translator("vi"), translator("ja")


@pytest.mark.parametrize("provider", ["libretranslate", "deepl"])
async def test_vietnamese_answers_reach_a_japanese_counselor_translated(
    make_world: Callable[..., Awaitable[World]],
    database_url: str,
    tg: FakeTelegram,
    telegram_server: tuple[LocalServer, Swappable],
    libre: FakeLibreTranslate,
    deepl_fake: FakeDeepL,
    libretranslate_server: tuple[LocalServer, Swappable],
    deepl_server: tuple[LocalServer, Swappable],
    provider: str,
) -> None:
    service: FakeLibreTranslate | FakeDeepL
    if provider == "libretranslate":
        service, name = libre, "LibreTranslate"
        translation = libretranslate_settings(libretranslate_server[0])
    else:
        service, name = deepl_fake, "DeepL"
        translation = deepl_settings(deepl_server[0])
    service.phrases.update(ANSWERS)
    settings = world_settings(database_url, telegram=telegram_server[0], webhook=True)
    world = await make_world({**settings, **translation}, tg=tg)
    engine = world.running.engine
    assert world.running.translations is not None

    # A Japanese counselor links their Telegram account; a Vietnamese student joins.
    counselor_id, link_code = await world.add_counselor("佐藤", locale="ja")
    await world.tg_say(COUNSELOR, f"/start {link_code}", language_code="ja")
    code = await admin.create_invite(engine, counselor_id=counselor_id, label="Linh")
    await world.tg_say(STUDENT, f"/start {code}", language_code="vi")
    await world.tg_press(STUDENT, VI._("Continue"))
    consent = world.tg_texts(STUDENT)[-1]
    assert ("LibreTranslate (127.0.0.1)" if provider == "libretranslate" else "DeepL") in consent
    await world.tg_press(STUDENT, VI._("I agree"))
    [student] = await admin.list_students(engine, counselor_id=counselor_id)
    await world.tg_say(COUNSELOR, f"/session {student.id} visa,interview", language_code="ja")

    # The translator is down while the student answers: the answers go on regardless.
    service.down = True
    await world.tg_press(STUDENT, VI._("Interviews"))
    for answer in ANSWERS:
        await world.tg_say(STUDENT, answer, language_code="vi")
    assert world.tg_texts(STUDENT)[-1].startswith("(5/7)")
    await world.running.translations.tick()

    await world.tg_say(COUNSELOR, "/digest", language_code="ja")
    digest = world.tg_texts(COUNSELOR)[-1]
    for original, translated in ANSWERS.items():
        assert original in digest and translated not in digest
    assert JA._("Machine translation ({provider}):", provider=name) not in digest
    assert f": {JA._('Interviews')}\n" in digest  # the button choice, in Japanese already
    built = await admin.digest(engine, counselor_id=counselor_id, since=None, mark_read=False)
    assert all(a.translation is None for s in built.students for r in s.runs for a in r.answers)

    # The service comes back; the next tick after the backoff catches up.
    service.down = False
    world.clock.advance(timedelta(minutes=1))
    await world.running.translations.tick()

    await world.tg_say(COUNSELOR, "/digest 7d", language_code="ja")
    digest = world.tg_texts(COUNSELOR)[-1]
    label = JA._("Machine translation ({provider}):", provider=name)
    for original, translated in ANSWERS.items():
        assert f": {original}\n  ↳ {label} {translated}" in digest  # original first

    since = world.clock.now() - timedelta(days=7)
    built = await admin.digest(engine, counselor_id=counselor_id, since=since, mark_read=False)
    table = list(csv.DictReader(io.StringIO(render_csv(built).lstrip("\ufeff"))))
    by_answer = {row["answer"]: row for row in table if row["kind"] == "answer"}
    for original, translated in ANSWERS.items():
        assert by_answer[original]["translation"] == translated
        assert by_answer[original]["translation_provider"] == name
    assert by_answer[JA._("Interviews")]["translation"] == ""
    runs: list[dict[str, Any]] = json.loads(render_json(built))["students"][0]["runs"]
    answers = [a for run in runs for a in run["answers"]]
    shown = {a["answer"]: a["translation"] for a in answers}
    assert shown == {**ANSWERS, JA._("Interviews"): None}
