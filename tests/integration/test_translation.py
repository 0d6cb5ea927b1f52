"""Answers translated for the counselor: queued with the answer, translated in the
background against the fake services, shown under the original, deleted, exported and
purged with it. The real engine, handlers, database and adapters throughout."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import Translation
from bot.engine.events import Kind
from bot.i18n import translator
from bot.translate.worker import MAX_REFUSED_ATTEMPTS
from handlers import admin, retention
from handlers.digest.render import render_csv, render_json
from tests.fakes.deepl_api import FakeDeepL
from tests.fakes.libretranslate_api import FakeLibreTranslate
from tests.fakes.server import LocalServer, Swappable
from tests.fakes.translation_fixtures import deepl_settings, libretranslate_settings
from tests.harness import Harness
from tests.logcheck import AppLogs

VI_ANSWER = "Tôi nhận ra mình nói quá nhanh khi phỏng vấn."
JA_TRANSLATION = "面接で話すのが速すぎると気づきました。"
MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(database_url: str) -> AsyncIterator[MakeHarness]:
    opened: list[Harness] = []

    async def make(**settings: Any) -> Harness:
        harness = await Harness.create(database_url, _env_file=None, **settings)
        opened.append(harness)
        return harness

    yield make
    for harness in opened:
        await harness.close()


@pytest.fixture
async def lt(
    make_harness: MakeHarness,
    libre: FakeLibreTranslate,
    libretranslate_server: tuple[LocalServer, Swappable],
) -> Harness:
    """The bot with LibreTranslate on (the fake), and a Japanese counselor."""
    libre.phrases[VI_ANSWER] = JA_TRANSLATION
    return await make_harness(**libretranslate_settings(libretranslate_server[0]))


async def translate(harness: Harness) -> int:
    assert harness.app.translations is not None
    return await harness.app.translations.tick()


async def rows(harness: Harness) -> list[Translation]:
    async with harness.engine.db.uow() as uow:
        found = list((await uow.session.scalars(select(Translation))).all())
        uow.session.expunge_all()
        return found


async def vietnamese_student_of_japanese_counselor(harness: Harness) -> tuple[Any, int]:
    counselor = await harness.counselor(locale="ja")
    student_id = await harness.student(counselor, "s1", name="Linh", locale="vi")
    await harness.session(counselor, student_id, "visa,interview")
    return counselor, student_id


async def digest_text(harness: Harness, counselor: Any, line: str = "/digest") -> str:
    return "\n".join(m.text for m in await harness.say(counselor.user, line))


@pytest.mark.parametrize("provider", ["libretranslate", "deepl"])
async def test_an_answer_is_translated_after_it_is_stored_and_shown_under_it(
    make_harness: MakeHarness,
    libre: FakeLibreTranslate,
    deepl_fake: FakeDeepL,
    libretranslate_server: tuple[LocalServer, Swappable],
    deepl_server: tuple[LocalServer, Swappable],
    provider: str,
) -> None:
    fake: FakeLibreTranslate | FakeDeepL
    if provider == "libretranslate":
        fake, settings = libre, libretranslate_settings(libretranslate_server[0])
    else:
        fake, settings = deepl_fake, deepl_settings(deepl_server[0])
    fake.phrases[VI_ANSWER] = JA_TRANSLATION
    harness = await make_harness(**settings)
    counselor, _ = await vietnamese_student_of_japanese_counselor(harness)
    vi, ja = translator("vi"), translator("ja")
    await harness.press("s1", vi._("Interviews"))

    replies = await harness.say("s1", VI_ANSWER)
    assert replies[-1].text.startswith("(3/7)")  # the next question came without a translator
    assert fake.texts_sent() == []
    [queued] = await rows(harness)
    assert (queued.status, queued.source, queued.target) == ("pending", "vi", "ja")

    assert await translate(harness) == 1
    assert fake.texts_sent() == [VI_ANSWER]  # the button choice is never sent
    digest = await digest_text(harness, counselor)
    name = "LibreTranslate" if provider == "libretranslate" else "DeepL"
    label = ja._("Machine translation ({provider}):", provider=name)
    assert f": {VI_ANSWER}\n  ↳ {label} {JA_TRANSLATION}" in digest  # original first
    assert f": {ja._('Interviews')}\n" in digest  # a choice: the catalog, in Japanese


async def test_csv_and_json_carry_the_translation_beside_the_original(lt: Harness) -> None:
    counselor, _ = await vietnamese_student_of_japanese_counselor(lt)
    await lt.say("s1", VI_ANSWER)
    await lt.say("s1", "Visa")  # Latin script, like Vietnamese: translated from vi as well
    await translate(lt)
    built = await admin.digest(lt.engine, counselor_id=counselor.id, since=None)

    table = list(csv.DictReader(io.StringIO(render_csv(built).lstrip("\ufeff"))))
    answers = {r["answer"]: r for r in table if r["kind"] == "answer"}
    assert answers[VI_ANSWER]["translation"] == JA_TRANSLATION
    assert answers[VI_ANSWER]["translation_status"] == "done"
    assert answers[VI_ANSWER]["translation_provider"] == "LibreTranslate"
    assert answers["Visa"]["translation"] == "[ja] Visa"

    [student] = json.loads(render_json(built))["students"]
    by_answer = {a["answer"]: a for run in student["runs"] for a in run["answers"]}
    assert by_answer[VI_ANSWER]["translation"] == JA_TRANSLATION
    assert by_answer[VI_ANSWER]["translation_provider"] == "LibreTranslate"


async def test_the_same_language_is_not_sent_anywhere(
    make_harness: MakeHarness,
    libre: FakeLibreTranslate,
    libretranslate_server: tuple[LocalServer, Swappable],
) -> None:
    harness = await make_harness(**libretranslate_settings(libretranslate_server[0]))
    counselor = await harness.counselor(locale="vi")
    student_id = await harness.student(counselor, "s1", locale="vi")
    await harness.session(counselor, student_id)
    await harness.say("s1", VI_ANSWER)
    assert await rows(harness) == []
    assert await translate(harness) == 0
    assert libre.calls("/translate") == []
    assert "Machine" not in await digest_text(harness, counselor)


async def test_another_script_is_detected_and_unsupported_languages_are_named(
    make_harness: MakeHarness,
    libre: FakeLibreTranslate,
    libretranslate_server: tuple[LocalServer, Swappable],
) -> None:
    harness = await make_harness(**libretranslate_settings(libretranslate_server[0]))
    counselor = await harness.counselor(locale="en")
    student_id = await harness.student(counselor, "s1", name="Rai", locale="ne")
    await harness.session(counselor, student_id)
    libre.detected["I want to work in Japan first."] = "en"
    libre.detected["日本の会社で働きたいです。"] = "ja"
    await harness.say("s1", "I want to work in Japan first.")  # English from a Nepali student
    await harness.say("s1", "मलाई नेपाल फर्कन पनि मन छ।")  # Nepali: this server has no model
    await harness.say("s1", "日本の会社で働きたいです。")  # Japanese
    await translate(harness)

    found = {r.status: r for r in await rows(harness)}
    assert set(found) == {"same", "unsupported", "done"}
    assert (found["same"].source, found["same"].text) == ("en", None)
    assert found["done"].source == "ja"
    sent = [c.body["source"] for c in libre.calls("/translate")]
    assert sent == ["auto"]  # the unsupported pair was never sent
    digest = await digest_text(harness, counselor)
    assert "[en] 日本の会社で働きたいです。" in digest
    assert "(no machine translation: LibreTranslate does not offer this language)" in digest
    assert digest.count("Machine translation (LibreTranslate):") == 1


async def test_while_the_service_is_down_originals_are_shown_and_it_catches_up(
    lt: Harness, libre: FakeLibreTranslate
) -> None:
    counselor, _ = await vietnamese_student_of_japanese_counselor(lt)
    libre.down = True
    await lt.say("s1", VI_ANSWER)
    assert lt.texts("s1")[-1].startswith("(2/7)")  # the next question, at once
    await translate(lt)
    [row] = await rows(lt)
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at > lt.clock.now()  # backed off, not hammering the service

    ja = translator("ja")
    digest = await digest_text(lt, counselor, "/digest 7d")
    assert VI_ANSWER in digest and JA_TRANSLATION not in digest
    assert ja._("(machine translation not ready yet; /digest 7d shows it later)") in digest

    libre.down = False
    tried = len(libre.calls())
    await translate(lt)
    assert len(libre.calls()) == tried  # the backoff holds
    lt.clock.advance(timedelta(minutes=1))
    await translate(lt)
    digest = await digest_text(lt, counselor, "/digest 7d")
    assert f"{VI_ANSWER}\n  ↳ " in digest and JA_TRANSLATION in digest


async def test_backoff_grows_and_a_slow_service_is_retried(
    lt: Harness, libre: FakeLibreTranslate
) -> None:
    await vietnamese_student_of_japanese_counselor(lt)
    await lt.say("s1", VI_ANSWER)
    libre.fail_next("/languages", 429, times=3)
    waits = []
    for _ in range(3):
        await translate(lt)
        [row] = await rows(lt)
        waits.append(row.next_attempt_at - lt.clock.now())
        lt.clock.advance(waits[-1])
    assert waits == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    libre.delay_next("/translate", 2.0)  # longer than the timeout (1 s)
    await translate(lt)
    [row] = await rows(lt)
    assert row.status == "pending"
    lt.clock.advance(timedelta(hours=1))
    await translate(lt)
    [row] = await rows(lt)
    assert (row.status, row.text) == ("done", JA_TRANSLATION)


async def test_a_refusing_service_is_given_up_on_and_the_digest_says_so(
    lt: Harness, libre: FakeLibreTranslate
) -> None:
    counselor, _ = await vietnamese_student_of_japanese_counselor(lt)
    libre.api_key = "a-key-we-do-not-have"
    await lt.say("s1", VI_ANSWER)
    for _ in range(MAX_REFUSED_ATTEMPTS):
        await translate(lt)
        lt.clock.advance(timedelta(hours=1))
    [row] = await rows(lt)
    assert (row.status, row.attempts) == ("failed", MAX_REFUSED_ATTEMPTS)
    assert translator("ja")._("(machine translation failed)") in await digest_text(lt, counselor)


async def test_an_edited_answer_is_translated_again(lt: Harness, libre: FakeLibreTranslate) -> None:
    await vietnamese_student_of_japanese_counselor(lt)
    answered = lt.event("s1", VI_ANSWER)
    await lt.send(answered)
    await translate(lt)
    libre.phrases["Tôi nói chậm hơn rồi."] = "前よりゆっくり話せました。"
    await lt.send(
        lt.event("s1", kind=Kind.EDIT, text="Tôi nói chậm hơn rồi.", message_id=answered.message_id)
    )
    [row] = await rows(lt)
    assert (row.status, row.text) == ("pending", None)  # the old translation is gone
    await translate(lt)
    [row] = await rows(lt)
    assert (row.status, row.text) == ("done", "前よりゆっくり話せました。")


async def test_a_withdrawn_answer_is_never_sent_to_the_service(
    lt: Harness, libre: FakeLibreTranslate
) -> None:
    await vietnamese_student_of_japanese_counselor(lt)
    answered = lt.event("s1", VI_ANSWER)
    await lt.send(answered)
    await lt.send(lt.event("s1", kind=Kind.UNSEND, message_id=answered.message_id))
    await translate(lt)
    assert libre.texts_sent() == [] and await rows(lt) == []


async def test_translations_are_exported_deleted_and_purged_with_the_answers(
    lt: Harness,
) -> None:
    counselor, student_id = await vietnamese_student_of_japanese_counselor(lt)
    await lt.say("s1", VI_ANSWER)
    await translate(lt)

    data = await admin.export_student(lt.engine, student_id=student_id, counselor_id=None)
    [with_text] = [a for a in data["answers"] if a["text"] == VI_ANSWER]
    assert with_text["machine_translations"] == [
        {
            "language": "ja",
            "from": "vi",
            "by": "LibreTranslate",
            "status": "done",
            "text": JA_TRANSLATION,
            "translated_at": lt.clock.now().isoformat(),
        }
    ]
    summary = "\n".join(r.text for r in await lt.say("s1", "/mydata"))
    vi = translator("vi")
    assert vi._("Machine translation ({provider}):", provider="LibreTranslate") in summary
    assert JA_TRANSLATION in summary

    lt.clock.advance(timedelta(days=lt.app.settings.retention_days + 1))
    await lt.engine.run_job(retention.purge)
    assert await rows(lt) == []

    # And /forget takes them too (a fresh answer, translated, then forgotten).
    await lt.session(counselor, student_id)
    await lt.say("s1", VI_ANSWER)
    await translate(lt)
    assert len(await rows(lt)) == 1
    await admin.forget(lt.engine, student_id=student_id, counselor_id=None)
    assert await rows(lt) == []


async def test_a_digest_waiting_to_go_out_is_dropped_when_the_student_forgets(
    lt: Harness,
) -> None:
    counselor, student_id = await vietnamese_student_of_japanese_counselor(lt)
    await lt.say("s1", VI_ANSWER)
    await translate(lt)
    async with lt.engine.db.uow() as uow:
        outbox_id = await uow.outbox.add(
            idempotency_key="digest-quoting-a-translation",
            channel="test",
            chat_id=counselor.user,
            payload={"messages": [{"text": f"… {JA_TRANSLATION} …"}]},
            due_at=lt.clock.now() + timedelta(hours=1),
            created_at=lt.clock.now(),
            concerns=frozenset({student_id}),
        )
        await uow.commit()
    await admin.forget(lt.engine, student_id=student_id, counselor_id=None)
    async with lt.engine.db.uow() as uow:
        assert await uow.outbox.get(outbox_id) is None


async def test_the_backlog_counts_what_waits(lt: Harness, libre: FakeLibreTranslate) -> None:
    await vietnamese_student_of_japanese_counselor(lt)
    libre.down = True
    await lt.say("s1", VI_ANSWER)
    await lt.say("s1", "Tôi chưa rõ về visa.")
    async with lt.engine.db.uow() as uow:
        assert await uow.translations.backlog() == 2
    libre.down = False
    lt.clock.advance(timedelta(minutes=5))
    await translate(lt)
    async with lt.engine.db.uow() as uow:
        assert await uow.translations.backlog() == 0


CONSENT_SENTENCE = (
    "• To help your counselor read your answers, I also send them to {service} "
    "for machine translation."
)


async def test_consent_and_privacy_name_the_service_when_one_is_on(lt: Harness) -> None:
    counselor = await lt.counselor()
    await lt.student(counselor, "s1", consent=False)
    await lt.press("s1", "Continue")
    expected = CONSENT_SENTENCE.format(service="LibreTranslate (127.0.0.1)")
    assert expected in lt.texts("s1")[-1]
    await lt.press("s1", "I agree")
    assert expected in "\n".join(r.text for r in await lt.say("s1", "/privacy"))


async def test_with_no_translator_nothing_is_queued_or_said(harness: Harness) -> None:
    assert harness.app.translations is None
    counselor = await harness.counselor(locale="ja")
    student_id = await harness.student(counselor, "s1", consent=False, locale="vi")
    await harness.press("s1", translator("vi")._("Continue"))
    sentence_start = translator("vi")._(CONSENT_SENTENCE, service="§").split("§")[0]
    assert sentence_start not in harness.texts("s1")[-1]
    await harness.press("s1", translator("vi")._("I agree"))
    await harness.session(counselor, student_id)
    await harness.say("s1", VI_ANSWER)
    assert await rows(harness) == []
    assert "機械翻訳" not in await digest_text(harness, counselor)


@pytest.mark.parametrize("provider", ["libretranslate", "deepl"])
async def test_no_answer_or_translation_text_in_the_logs(
    make_harness: MakeHarness,
    libre: FakeLibreTranslate,
    deepl_fake: FakeDeepL,
    libretranslate_server: tuple[LocalServer, Swappable],
    deepl_server: tuple[LocalServer, Swappable],
    app_logs: AppLogs,
    provider: str,
) -> None:
    fake: FakeLibreTranslate | FakeDeepL = libre if provider == "libretranslate" else deepl_fake
    fake.phrases[VI_ANSWER] = JA_TRANSLATION
    if provider == "libretranslate":
        harness = await make_harness(**libretranslate_settings(libretranslate_server[0]))
        fake.fail_next("/translate", 500)
    else:
        harness = await make_harness(**deepl_settings(deepl_server[0]))
        fake.fail_next("/v2/translate", 500)
    counselor, _ = await vietnamese_student_of_japanese_counselor(harness)
    await harness.say("s1", VI_ANSWER)
    await translate(harness)
    harness.clock.advance(timedelta(minutes=1))
    await translate(harness)
    assert JA_TRANSLATION in await digest_text(harness, counselor)
    logged = app_logs.everything()
    assert "translation.unavailable" in logged  # the failure is logged, without text
    for text in (VI_ANSWER, JA_TRANSLATION, "nói quá nhanh", "面接で"):
        assert text not in logged


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"FURIKAERI_TRANSLATOR": "deepl"}, "FURIKAERI_DEEPL_AUTH_KEY"),
        ({"FURIKAERI_TRANSLATOR": "libretranslate"}, "FURIKAERI_LIBRETRANSLATE_URL"),
        ({"FURIKAERI_TRANSLATOR": "google"}, "FURIKAERI_TRANSLATOR"),
        (
            {"FURIKAERI_TRANSLATOR": "libretranslate", "FURIKAERI_LIBRETRANSLATE_URL": "mt.local"},
            "FURIKAERI_LIBRETRANSLATE_URL",
        ),
        ({"FURIKAERI_TRANSLATOR": "deepl", "FURIKAERI_DEEPL_AUTH_KEY": "changeme"}, "DEEPL"),
    ],
)
def test_a_bad_translator_setting_stops_with_one_line(
    tmp_path: Path, env: dict[str, str], names: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FURIKAERI_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "students", "--counselor", "1"],
        env={**clean, **env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0]
