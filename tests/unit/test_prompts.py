"""prompts/*.yaml: the shipped files, the rules the loader enforces, rotation, extraction."""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Callable
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from bot.paths import data_dir
from bot.prompts import (
    Followup,
    PromptBook,
    PromptError,
    load_prompts,
    pick_variant,
)
from bot.prompts import iso_duration as parse_duration
from bot.prompts_extract import extract_prompts

REPO = Path(__file__).resolve().parents[2]
PROMPTS = data_dir("prompts")
LOCALES = ("en", "ja", "zh_Hans", "zh_Hant", "ko", "vi", "ne", "my", "si", "id", "bn", "mn")
EXTRACTOR = "bot.prompts_extract:extract_prompts"


@pytest.fixture(scope="module")
def book() -> PromptBook:
    return load_prompts()


def all_questions(book: PromptBook) -> list[Any]:
    return [q for s in book.sets.values() for step in s.steps for q in step.pool]


# ---------------------------------------------------------------------------- shipped files


def test_shipped_sets_load_with_the_expected_shape(book: PromptBook) -> None:
    assert set(book.sets) == {"reflection", "work_life", "inner_outer"}
    for question_set in book.sets.values():
        assert 5 <= len(question_set.steps) <= 7, question_set.id
        assert "{date}" in question_set.journal
        for step in question_set.steps:
            assert step.mirror, f"{question_set.id}.{step.id}"
            if step.kind in ("text", "scale"):
                assert 2 <= len(step.current) <= 3, f"{question_set.id}.{step.id}"
            for question in step.pool:
                assert question.kind == step.kind
                assert question.id.startswith(f"{question_set.id}.{step.id}.")


def test_reflection_follows_the_questions_document(book: PromptBook) -> None:
    steps = book.sets["reflection"].steps
    assert [(s.id, s.kind) for s in steps] == [
        ("topics", "topics"),
        ("noticed", "text"),
        ("unclear", "text"),
        ("next_step", "text"),
        ("own_choice", "scale"),
        ("own_choice_reason", "text"),
        ("talk", "yesno"),
    ]
    assert steps[-1].flag == "wants_to_talk"
    assert steps[5].only_if_answered == "own_choice"  # the reason follows a number, not a skip
    assert all("nothing yet" in q.text.lower() for q in steps[3].pool)
    assert all("information" in q.text for q in steps[0].current)  # the seed's first question
    assert [s.mirror for s in steps[:4]] == [
        "Most useful",
        "You noticed",
        "Still unclear",
        "Next step",
    ]
    talk = steps[-1].pool[0]
    assert (talk.answer_yes, talk.answer_no) == ("Yes, I'd like to", "Not now")


def test_the_seed_questions_are_asked(book: PromptBook) -> None:
    assert any("coming to Japan" in q.text for q in book.sets["work_life"].steps[0].current)
    assert all("own choice" in q.text for q in book.sets["reflection"].steps[4].current)


def test_no_double_barrelled_or_idiomatic_wording_is_asked(book: PromptBook) -> None:
    banned = (
        " or not",
        ", and what",
        "play a part",
        "time and space",
        "in case you missed",
        "student and worker",
        "one new thing",
        "company name, job title",
    )
    for question in [q for q in all_questions(book) if not q.retired]:
        assert not [b for b in banned if b in question.text.lower()], question.id


def test_every_today_has_a_form_for_later_days(book: PromptBook) -> None:
    for question_set in book.sets.values():
        if "today" in question_set.intro.lower():
            assert question_set.intro_later and "{date}" in question_set.intro_later
        for step in question_set.steps:
            for question in step.current:
                if "today" in question.text.lower():
                    assert question.later and "{date}" in question.later, question.id
                    assert "today" not in question.later.lower()


def test_each_set_has_a_scale_where_the_document_asks_for_one(book: PromptBook) -> None:
    assert [s.kind for s in book.sets["work_life"].steps].count("scale") == 1
    assert [s.kind for s in book.sets["reflection"].steps].count("scale") == 1
    assert book.sets["inner_outer"].steps[0].kind == "scale"


def test_question_ids_are_unique_and_short(book: PromptBook) -> None:
    ids = [q.id for q in all_questions(book)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+\.[a-z0-9_]+", i) and len(i) <= 64 for i in ids)


def test_every_question_is_short_open_and_within_the_rules(book: PromptBook) -> None:
    forbidden = ("why", "skip", "health", "religion", "religious", "belief", "family", "god")
    for question in all_questions(book):
        words = question.text.split()
        assert len(words) < 25, question.id
        assert not question.text.lower().startswith("why"), question.id
        lowered = re.findall(r"[a-z]+", question.text.lower())
        assert not set(forbidden) & set(lowered), question.id
        assert "?" in question.text, question.id
        if question.kind == "scale":
            assert question.low and question.high
            assert len(question.low) <= 20 and len(question.high) <= 20
        else:
            assert question.low is None and question.high is None


def test_intros_mention_time_and_skipping_and_outros_thank(book: PromptBook) -> None:
    for question_set in book.sets.values():
        assert "3 minutes" in question_set.intro and "skip" in question_set.intro
        assert question_set.outro.startswith("Thank you")
        assert "\n" not in question_set.intro + question_set.outro


def test_no_question_assumes_work_in_japan(book: PromptBook) -> None:
    for question in all_questions(book):
        text = question.text.lower()
        assert "work in japan" not in text and "job in japan" not in text, question.id


def test_topic_catalog(book: PromptBook) -> None:
    ids = [t.id for t in book.topics]
    assert 10 <= len(ids) <= 12  # a LINE quick reply holds 13 items
    assert len(ids) == len(set(ids))
    for topic in book.topics:
        assert re.fullmatch(r"[a-z_]{1,16}", topic.id)
        assert 0 < len(topic.label) <= 20 and topic.name
    for expected in ("visa", "resume", "interview", "aptitude_test", "grad_school", "japanese"):
        assert book.topic(expected).id == expected
    with pytest.raises(KeyError, match="nope"):
        book.topic("nope")


def test_shipped_schedule(book: PromptBook) -> None:
    schedule = book.schedule
    assert schedule.reflection_delay == timedelta(0)
    assert schedule.followups == [
        Followup("work_life", timedelta(days=2)),
        Followup("inner_outer", timedelta(days=5)),
    ]
    set_id, after = schedule.followups[0]
    assert (set_id, after) == ("work_life", timedelta(days=2))
    assert schedule.send_window is not None
    assert (schedule.send_window.start, schedule.send_window.end) == (time(9), time(21))
    assert schedule.reminder_after == timedelta(hours=24)
    assert schedule.expire_after == timedelta(days=7)
    assert schedule.digest_push is not None
    assert (schedule.digest_push.weekday, schedule.digest_push.time) == (0, time(9))


def test_shipped_safety(book: PromptBook) -> None:
    safety = book.safety
    assert set(safety.phrases) == set(LOCALES)
    for locale, phrases in safety.phrases.items():
        assert phrases, locale
        assert all(p.strip() == p for p in phrases)
    ids = [c.id for c in safety.contacts]
    assert ids[:2] == ["emergency", "police"]
    assert {c.phone for c in safety.contacts} >= {"119", "110"}
    assert all(c.source.startswith("https://") for c in safety.contacts)


def test_safety_raw_file_marks_unreviewed_lists() -> None:
    raw = (PROMPTS / "safety.yaml").read_text(encoding="utf-8")
    assert "not an emergency" in raw.lower()
    for locale in LOCALES[1:]:
        assert f"# {locale}: drafted without a native reviewer" in raw
    assert "NATIVE REVIEW NEEDED" in raw


@pytest.mark.parametrize(
    "text",
    [
        "Sometimes I want to die.",
        "ＳＵＩＣＩＤＥ",  # full-width, NFKC folds it
        "もう死にたいと思う",
        "我有时候想自杀",
        "Tôi không muốn sống nữa",
        "kadang saya ingin mati",
    ],
)
def test_safety_matches_clear_expressions(book: PromptBook, text: str) -> None:
    assert book.safety.match(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "The interview killed my confidence a bit, but I will try again.",
        "I am dying to start my internship!",
        "My visa deadline is next month and I feel stressed.",
        "就活は大変だけど、頑張りたい。",
    ],
)
def test_safety_does_not_fire_on_ordinary_career_talk(book: PromptBook, text: str) -> None:
    assert book.safety.match(text) is None


def test_safety_does_not_fire_on_our_own_messages(book: PromptBook) -> None:
    texts = [q.text for q in all_questions(book)]
    texts += [s.intro for s in book.sets.values()] + [s.outro for s in book.sets.values()]
    texts += [t.name for t in book.topics]
    assert [t for t in texts if book.safety.match(t)] == []


def test_the_digest_names_a_question_by_its_step_unless_it_asked_something_else(
    book: PromptBook,
) -> None:
    # The mirror reads right for a counselor too: one string for both.
    assert book.digest_label("reflection.unclear.still") == "Still unclear"
    assert book.digest_label("reflection.unclear.question") == "Still unclear"
    # The mirror speaks to the student: the step has a counselor's label.
    assert book.step_of("reflection.noticed.self").mirror == "You noticed"
    assert book.digest_label("reflection.noticed.self") == "Noticed about themselves"
    # A retired variant that asked another thing keeps its own name.
    assert book.digest_label("work_life.weight.ten_years") == "Work in ten years"
    assert book.digest_label("work_life.weight.time") == "Time for work"


def test_lookup_by_question_id(book: PromptBook) -> None:
    question = book.question("reflection.talk.again")
    assert question.kind == "yesno"
    assert book.set_of("reflection.talk.again").id == "reflection"
    assert book.step_of("reflection.talk.again").flag == "wants_to_talk"
    assert book.set_of("work_life.weight.week").id == "work_life"
    with pytest.raises(KeyError, match=r"no\.such\.question"):
        book.question("no.such.question")


def test_models_are_frozen(book: PromptBook) -> None:
    with pytest.raises(ValueError):
        book.question("reflection.talk.again").text = "changed"  # type: ignore[misc]


# ---------------------------------------------------------------------------- broken files


@pytest.fixture
def prompts_copy(tmp_path: Path) -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(PROMPTS, target)
    return target


def edit(directory: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def error_of(directory: Path, **kwargs: Any) -> str:
    with pytest.raises(PromptError) as caught:
        load_prompts(directory, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def step(data: dict[str, Any], index: int) -> dict[str, Any]:
    steps: list[dict[str, Any]] = data["steps"]
    return steps[index]


def _drop_low(d: dict[str, Any]) -> None:
    del step(d, 2)["pool"][0]["low"]


def _low_on_text(d: dict[str, Any]) -> None:
    step(d, 0)["pool"][0]["low"] = "Little"


def _long_low(d: dict[str, Any]) -> None:
    step(d, 2)["pool"][0]["low"] = "A label that is far too long"


def _bad_kind(d: dict[str, Any]) -> None:
    step(d, 0)["kind"] = "essay"


def _flag_on_text(d: dict[str, Any]) -> None:
    step(d, 0)["flag"] = "wants_to_talk"


def _twin_step(d: dict[str, Any]) -> None:
    step(d, 2)["id"] = "roles"


def _wrong_prefix(d: dict[str, Any]) -> None:
    step(d, 1)["pool"][0]["id"] = "work_life.other.now"


def _empty_pool(d: dict[str, Any]) -> None:
    step(d, 0)["pool"] = []


def _typo_key(d: dict[str, Any]) -> None:
    step(d, 0)["pool"][0]["hihg"] = "x"


def _empty_text(d: dict[str, Any]) -> None:
    step(d, 2)["pool"][1]["text"] = ""


def _no_outro(d: dict[str, Any]) -> None:
    del d["outro"]


def _wrong_set_id(d: dict[str, Any]) -> None:
    d["id"] = "worklife"


def _today_without_later(d: dict[str, Any]) -> None:
    step(d, 0)["pool"][0]["text"] = "What did you want from today?"


def _later_without_date(d: dict[str, Any]) -> None:
    step(d, 0)["pool"][0]["later"] = "What did you want from that day?"


def _later_with_today(d: dict[str, Any]) -> None:
    step(d, 0)["pool"][0]["later"] = "What did you want from today, {date}?"


def _all_retired(d: dict[str, Any]) -> None:
    for question in step(d, 0)["pool"]:
        question["retired"] = True


def _answers_on_text(d: dict[str, Any]) -> None:
    step(d, 0)["pool"][0]["answer_yes"] = "Yes"


def _needs_a_later_step(d: dict[str, Any]) -> None:
    step(d, 0)["only_if_answered"] = "roles"


def _no_mirror_label(d: dict[str, Any]) -> None:
    del step(d, 0)["mirror"]


def _journal_without_date(d: dict[str, Any]) -> None:
    d["journal"] = "Work and life"


LONG_LABEL = "A short name for the digest that runs on far too long"


def _long_set_label(d: dict[str, Any]) -> None:
    d["label"] = LONG_LABEL


def _long_step_label(d: dict[str, Any]) -> None:
    step(d, 1)["label"] = LONG_LABEL


def _long_question_label(d: dict[str, Any]) -> None:
    step(d, 1)["pool"][2]["label"] = LONG_LABEL


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (_drop_low, "steps.2.pool.0.low", "required for a scale question"),
        (_low_on_text, "steps.0.pool.0.low", "only a scale question has labels"),
        (_long_low, "steps.2.pool.0.low", "longer than 20 characters"),
        (_bad_kind, "steps.0.kind", "'topics', 'text', 'scale' or 'yesno'"),
        (_flag_on_text, "steps.0.flag", "only a yesno step can raise a flag"),
        (_twin_step, "steps.2.id", "appears twice"),
        (_wrong_prefix, "steps.1.pool.0.id", "must look like work_life.roles.<slug>"),
        (_empty_pool, "steps.0.pool", "at least 1 item"),
        (_typo_key, "steps.0.pool.0.hihg", "unknown field"),
        (_empty_text, "steps.2.pool.1.text", "must not be empty"),
        (_no_outro, "outro", "required"),
        (_wrong_set_id, "id", "must equal the file name 'work_life'"),
        (_today_without_later, "steps.0.pool.0.later", 'the text says "today"'),
        (_later_without_date, "steps.0.pool.0.later", "must contain {date}"),
        (_later_with_today, "steps.0.pool.0.later", 'must not say "today"'),
        (_all_retired, "steps.0.pool", "every variant is retired"),
        (_answers_on_text, "steps.0.pool.0.answer_yes", "only a yesno question has answers"),
        (_needs_a_later_step, "steps.0.only_if_answered", "an earlier step of this set"),
        (_no_mirror_label, "steps.0.mirror", "required"),
        (_journal_without_date, "journal", "must contain {date}"),
        (_long_set_label, "label", "longer than 40 characters"),
        (_long_step_label, "steps.1.label", "longer than 40 characters"),
        (_long_question_label, "steps.1.pool.2.label", "longer than 40 characters"),
    ],
)
def test_question_set_rules(
    prompts_copy: Path, change: Callable[[dict[str, Any]], None], field: str, problem: str
) -> None:
    edit(prompts_copy, "work_life.yaml", change)
    message = error_of(prompts_copy)
    assert f"prompts/work_life.yaml: {field}: " in message
    assert problem in message


def test_a_question_id_appears_once(prompts_copy: Path) -> None:
    def twin(d: dict[str, Any]) -> None:
        step(d, 3)["pool"].append({"id": "work_life.room.keep", "text": "What else?"})

    edit(prompts_copy, "work_life.yaml", twin)
    message = error_of(prompts_copy)
    assert "prompts/work_life.yaml: steps.3.pool.5.id: 'work_life.room.keep' appears twice" in (
        message
    )


def test_a_yes_no_question_words_its_own_answers(prompts_copy: Path) -> None:
    edit(prompts_copy, "reflection.yaml", lambda d: step(d, 6)["pool"][0].pop("answer_no"))
    message = error_of(prompts_copy)
    assert "prompts/reflection.yaml: steps.6.pool.0.answer_no: required for a yesno" in message


def test_an_extra_well_formed_set_loads(prompts_copy: Path) -> None:
    extra = {
        "id": "zz_extra",
        "intro": "Hello.",
        "outro": "Thanks.",
        "journal": "Extra, after your session on {date}",
        "steps": [
            {
                "id": "one",
                "kind": "text",
                "mirror": "One",
                "pool": [{"id": "zz_extra.one.a", "text": "What?"}],
            }
        ],
    }
    (prompts_copy / "zz_extra.yaml").write_text(yaml.safe_dump(extra), encoding="utf-8")
    book = load_prompts(prompts_copy)
    assert book.set_of("zz_extra.one.a").id == "zz_extra"


def test_the_reflection_set_is_required(prompts_copy: Path) -> None:
    (prompts_copy / "reflection.yaml").unlink()
    assert "reflection.yaml: file not found" in error_of(prompts_copy)


def test_broken_yaml_names_the_line(prompts_copy: Path) -> None:
    (prompts_copy / "inner_outer.yaml").write_text("id: inner_outer\nsteps: [\n", encoding="utf-8")
    message = error_of(prompts_copy)
    assert "prompts/inner_outer.yaml: not valid YAML at line" in message


def test_a_set_file_must_be_a_mapping(prompts_copy: Path) -> None:
    (prompts_copy / "inner_outer.yaml").write_text("- just a list\n", encoding="utf-8")
    assert "prompts/inner_outer.yaml: expected a mapping" in error_of(prompts_copy)


def _topic(index: int, **values: Any) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        d["topics"][index].update(values)

    return change


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (_topic(0, id="Visa"), "topics.0.id", "1 to 16 lower-case ascii letters"),
        (_topic(1, id="a_very_long_topic_id"), "topics.1.id", "1 to 16"),
        (_topic(2, id="visa"), "topics.2.id", "'visa' appears twice"),
        (_topic(3, label="Company and industry research"), "topics.3.label", "holds 20"),
        (_topic(4, name=None), "topics.4.name", "valid string"),
        (lambda d: d["topics"][5].pop("label"), "topics.5.label", "required"),
        (lambda d: d.update(topics=[]), "topics", "at least 1 item"),
    ],
)
def test_topic_rules(
    prompts_copy: Path, change: Callable[[dict[str, Any]], None], field: str, problem: str
) -> None:
    edit(prompts_copy, "topics.yaml", change)
    message = error_of(prompts_copy)
    assert f"prompts/topics.yaml: {field}: " in message
    assert problem in message


def _schedule(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.update(values)


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (
            _schedule(followups=[{"set": "career_dreams", "after": "P2D"}]),
            "followups.0.set",
            "unknown question set 'career_dreams'",
        ),
        (
            _schedule(followups=[{"set": "work_life", "after": "2 days"}]),
            "followups.0.after",
            "not an ISO 8601 duration",
        ),
        (
            _schedule(followups=[{"set": "work_life", "after": "P1M"}]),
            "followups.0.after",
            "no years or months",
        ),
        (_schedule(followups=[{"set": "work_life"}]), "followups.0.after", "required"),
        (_schedule(reflection_delay=3600), "reflection_delay", "ISO 8601 duration"),
        (_schedule(expire_after="PT0S"), "expire_after", "longer than zero"),
        (_schedule(reminder_after="P7D"), "reminder_after", "shorter than expire_after"),
        (
            _schedule(send_window={"start": "09:00", "end": 1260}),
            "send_window.end",
            'write the time in quotes, like "21:00"',
        ),
        (_schedule(send_window={"start": "9am", "end": "21:00"}), "send_window.start", "HH:MM"),
        (_schedule(send_window={"start": "25:00", "end": "21:00"}), "send_window.start", "HH:MM"),
        (
            _schedule(send_window={"start": "09:00", "end": "09:00"}),
            "send_window",
            "send_window: null",
        ),
        (
            _schedule(digest_push={"weekday": "someday", "time": "09:00"}),
            "digest_push.weekday",
            "mon, tue",
        ),
        (_schedule(surprise=True), "surprise", "unknown field"),
    ],
)
def test_schedule_rules(
    prompts_copy: Path, change: Callable[[dict[str, Any]], None], field: str, problem: str
) -> None:
    edit(prompts_copy, "schedule.yaml", change)
    message = error_of(prompts_copy)
    assert f"prompts/schedule.yaml: {field}: " in message
    assert problem in message


def test_schedule_switches_and_variants(prompts_copy: Path) -> None:
    edit(
        prompts_copy,
        "schedule.yaml",
        _schedule(
            send_window=None,
            reminder_after=None,
            digest_push={"weekday": "Friday", "time": "17:30"},
            followups=[{"set": "inner_outer", "after": "P1DT12H"}],
            reflection_delay="PT0.5S",
        ),
    )
    schedule = load_prompts(prompts_copy).schedule
    assert schedule.send_window is None and schedule.reminder_after is None
    assert schedule.digest_push is not None
    assert (schedule.digest_push.weekday, schedule.digest_push.time) == (4, time(17, 30))
    assert schedule.followups == [Followup("inner_outer", timedelta(days=1, hours=12))]
    assert schedule.reflection_delay == timedelta(milliseconds=500)

    edit(prompts_copy, "schedule.yaml", lambda d: d.pop("digest_push"))
    assert load_prompts(prompts_copy).schedule.digest_push is None


def test_schedule_file_can_live_elsewhere(prompts_copy: Path, tmp_path: Path) -> None:
    other = tmp_path / "deployment-schedule.yaml"
    data = yaml.safe_load((prompts_copy / "schedule.yaml").read_text(encoding="utf-8"))
    data["followups"] = [{"set": "work_life", "after": "P3D"}]
    data["send_window"] = {"start": "22:00", "end": "06:00"}
    other.write_text(yaml.safe_dump(data), encoding="utf-8")
    schedule = load_prompts(prompts_copy, schedule_file=other).schedule
    assert schedule.followups == [Followup("work_life", timedelta(days=3))]
    window = schedule.send_window
    assert window is not None
    assert window.contains(time(23, 0)) and window.contains(time(5, 59))
    assert not window.contains(time(6, 0)) and not window.contains(time(12, 0))

    data["followups"] = [{"set": "nope", "after": "P3D"}]
    other.write_text(yaml.safe_dump(data), encoding="utf-8")
    message = error_of(prompts_copy, schedule_file=other)
    assert "deployment-schedule.yaml: followups.0.set: unknown question set 'nope'" in message


def test_send_window_contains_on_a_day_window(book: PromptBook) -> None:
    window = book.schedule.send_window
    assert window is not None
    assert window.contains(time(9, 0)) and window.contains(time(20, 59))
    assert not window.contains(time(21, 0)) and not window.contains(time(8, 59))


def _contact(index: int, **values: Any) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        d["contacts"][index].update(values)

    return change


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (_contact(0, phone=119), "contacts.0.phone", 'write it in quotes, like "119"'),
        (lambda d: d["contacts"][1].pop("source"), "contacts.1.source", "required"),
        (_contact(1, source="a friend told me"), "contacts.1.source", "URL"),
        (_contact(1, id="emergency"), "contacts.1.id", "appears twice"),
        (_contact(0, fax="03"), "contacts.0.fax", "unknown field"),
        (lambda d: d["phrases"]["ja"].append(""), "phrases.ja.", "nothing left to match"),
        (lambda d: d["phrases"]["en"].append("!!"), "phrases.en.", "nothing left to match"),
        (lambda d: d["phrases"]["en"].append("wa*nt"), "phrases.en.", "only at the start or"),
        (lambda d: d["phrases"]["id"].append("(mau|ingin mati"), "phrases.id.", "unbalanced"),
        (lambda d: d.update(exceptions={"ko": ["a|b"]}), "exceptions.ko.0", "unbalanced"),
        (_contact(0, name={"ja": "救急"}), "contacts.0.name", "English (en) too"),
        (_contact(0, name={"en": "Ambulance"}), "contacts.0.name", "add `local: true`"),
        (_contact(0, local=True, name={"en": "A", "xx": "B"}), "contacts.0.name", "'xx'"),
        (lambda d: d["phrases"]["en"].append(3), "phrases.en.", "valid string"),
        (lambda d: d.update(contacts=[]), "contacts", "at least 1 item"),
    ],
)
def test_safety_rules(
    prompts_copy: Path, change: Callable[[dict[str, Any]], None], field: str, problem: str
) -> None:
    edit(prompts_copy, "safety.yaml", change)
    message = error_of(prompts_copy)
    assert f"prompts/safety.yaml: {field}" in message
    assert problem in message


def test_safety_phrases_are_matched_as_normalised_patterns(prompts_copy: Path) -> None:
    edit(prompts_copy, "safety.yaml", lambda d: d["phrases"]["en"].append("ＧＩＶＥ UP ON LIFE"))
    safety = load_prompts(prompts_copy).safety
    assert safety.match("I want to Give Up On Life") == "ＧＩＶＥ UP ON LIFE"  # as written
    assert safety.match("give-up-on-life!") == "ＧＩＶＥ UP ON LIFE"
    assert safety.match("I will not give up on lifestyle goals") is None  # whole words


# ---------------------------------------------------------------------------- rotation


def test_rotation_gives_a_returning_student_a_different_question(book: PromptBook) -> None:
    for question_set in book.sets.values():
        history: list[str] = []
        first_round = [pick_variant(s, history) for s in question_set.steps]
        history += [q.id for q in first_round]
        second_round = [pick_variant(s, history) for s in question_set.steps]
        for step_, before, after in zip(question_set.steps, first_round, second_round, strict=True):
            assert before.id == step_.current[0].id
            if len(step_.current) > 1:
                assert after.id != before.id, step_.id


def test_rotation_never_asks_a_retired_wording(book: PromptBook) -> None:
    step_ = book.sets["work_life"].steps[1]
    retired = [q.id for q in step_.pool if q.retired]
    assert retired  # kept for the answers given to them
    history: list[str] = []
    for _ in range(6):
        chosen = pick_variant(step_, history).id
        assert chosen not in retired
        history.append(chosen)
    assert book.question(retired[0]).text  # still found for old answers


def test_rotation_walks_the_whole_pool_then_reuses_the_oldest(book: PromptBook) -> None:
    step_ = book.sets["inner_outer"].steps[0]
    pool = [q.id for q in step_.current]
    assert len(pool) == 2
    history: list[str] = []
    seen = []
    for _ in range(4):
        chosen = pick_variant(step_, history).id
        seen.append(chosen)
        history += ["reflection.talk.again", chosen]  # other steps' ids are ignored
    assert seen == pool + pool


def test_rotation_uses_the_last_time_each_variant_was_asked(book: PromptBook) -> None:
    step_ = book.sets["reflection"].steps[1]
    a, b = (q.id for q in step_.current)
    assert pick_variant(step_, [a, b, a]).id == b
    assert pick_variant(step_, [b, a]).id == b
    assert pick_variant(step_, set()).id == a
    single = book.sets["reflection"].steps[-1]
    assert pick_variant(single, [single.pool[0].id]).id == single.pool[0].id


# ---------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT0S", timedelta(0)),
        ("P2D", timedelta(days=2)),
        ("PT24H", timedelta(hours=24)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("PT1M", timedelta(minutes=1)),
        ("P1DT2H3M4.25S", timedelta(days=1, hours=2, minutes=3, seconds=4.25)),
        ("P1W", timedelta(weeks=1)),
        ("PT1,5H", timedelta(hours=1, minutes=30)),
    ],
)
def test_iso_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "P1Y", "P1M", "-P1D", "1:00:00", "2d"])
def test_iso_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_duration(text)


# ---------------------------------------------------------------------------- extraction


def extracted(path: Path) -> list[tuple[int, str | None, str, list[str]]]:
    with path.open("rb") as handle:
        return list(extract_prompts(handle, {}, [], {}))


def test_extractor_yields_every_message_with_its_id(book: PromptBook) -> None:
    messages: dict[str, list[str]] = {}
    for path in sorted(PROMPTS.glob("*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for lineno, funcname, message, comments in extracted(path):
            assert funcname is None
            assert len(comments) == 1
            escaped = message.replace('"', '\\"')
            assert message in lines[lineno - 1] or escaped in lines[lineno - 1], (path, lineno)
            messages.setdefault(message, []).extend(comments)

    for question in all_questions(book):
        assert question.id in messages[question.text]
        for label in (question.low, question.high):
            if label:
                assert any(c.startswith(question.id) for c in messages[label])
    for question_set in book.sets.values():
        assert messages[question_set.intro] and messages[question_set.outro]
        assert messages[question_set.journal]
        for step_ in question_set.steps:
            assert messages[step_.mirror]
    for question in all_questions(book):
        if question.later:
            assert any("{date} is the session's date" in c for c in messages[question.later])
    for topic in book.topics:
        assert f"topic {topic.id}: button label, at most 20 characters" in messages[topic.label]
        assert f"topic {topic.id}: full name" in messages[topic.name]
    for contact in book.safety.contacts:
        assert f"contact {contact.id}: full name" in messages[contact.name]
        assert f"contact {contact.id}: opening hours" in messages[contact.hours]
        if contact.note:
            assert messages[contact.note]


def test_extractor_skips_phrases_ids_phones_urls_and_durations(book: PromptBook) -> None:
    messages = {m for path in PROMPTS.glob("*.yaml") for _, _, m, _ in extracted(path)}
    raw_phrases = yaml.safe_load((PROMPTS / "safety.yaml").read_text(encoding="utf-8"))["phrases"]
    assert not messages & {p for lst in raw_phrases.values() for p in lst}
    assert not messages & {q.id for q in all_questions(book)}
    assert not messages & {t.id for t in book.topics}
    assert not messages & {c.phone for c in book.safety.contacts}
    assert not messages & {c.source for c in book.safety.contacts}
    assert not [m for m in messages if re.fullmatch(r"P[0-9TWD].*|https?://\S+", m)]
    assert "09:00" not in messages and "mon" not in messages


def test_extractor_handles_empty_and_odd_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert extracted(empty) == []
    odd = tmp_path / "odd.yaml"
    odd.write_text(
        "id: odd\nintro: 42\noutro: null\n"
        "phrases:\n  en: [{text: hidden}]\n"
        "note: |\n  two\n  lines\n",
        encoding="utf-8",
    )
    assert extracted(odd) == [(6, None, "two\nlines\n", ["odd: note"])]


def test_babel_runs_the_extractor_over_the_prompts_directory() -> None:
    """Drive Babel's own directory walk with the yaml entry of babel.cfg.

    The method name is swapped for the module path, so the test does not depend on the
    entry point being installed.
    """
    with (REPO / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    yaml_map = [(p, EXTRACTOR) for p, method in method_map if method == "furikaeri_yaml"]
    assert [p for p, _ in yaml_map] == ["prompts/**.yaml"]
    found = list(extract_from_dir(str(REPO), method_map=yaml_map, options_map=options_map))
    assert found
    by_message = {message: (filename, comments) for filename, _, message, comments, _ in found}
    filename, comments = by_message[
        "Which information from today's session was most useful to you?"
    ]
    assert filename == "prompts/reflection.yaml"
    assert comments == ["reflection.topics.useful_info"]
    _, comments = by_message["Not now"]
    assert comments == [
        "reflection.talk.again: button label, at most 20 characters: a natural NO answer to the"
        ' question "Would you like to talk with your counselor again soon?"'
    ]
    _, comments = by_message["Most useful"]
    assert comments[0].startswith("reflection.topics: short label")


def test_babel_cfg_and_entry_point_point_at_the_extractor() -> None:
    cfg = (REPO / "babel.cfg").read_text(encoding="utf-8")
    assert "[furikaeri_yaml: prompts/**.yaml]" in cfg
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    entry_points = pyproject["project"]["entry-points"]["babel.extractors"]
    assert entry_points["furikaeri_yaml"] == EXTRACTOR
