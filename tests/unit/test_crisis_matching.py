"""Crisis matching finds what students really type, in all twelve languages, and leaves
ordinary career talk alone: the labelled corpus in tests/data/crisis/, and the rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.i18n import SHIPPED_LOCALES
from bot.prompts import Safety, load_prompts
from bot.safety import Matcher, normalize

CORPUS = Path(__file__).resolve().parents[1] / "data" / "crisis"
MIN_EACH = 15
MIN_RECALL = 0.9


@pytest.fixture(scope="module")
def safety() -> Safety:
    return load_prompts().safety


def corpus(locale: str) -> dict[str, list[str]]:
    data: dict[str, list[str]] = yaml.safe_load(
        (CORPUS / f"{locale}.yaml").read_text(encoding="utf-8")
    )
    return data


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_the_corpus_is_found_with_no_false_alert(safety: Safety, locale: str) -> None:
    data = corpus(locale)
    assert len(data["crisis"]) >= MIN_EACH and len(data["ordinary"]) >= MIN_EACH
    missed = [text for text in data["crisis"] if safety.match(text) is None]
    recall = 1 - len(missed) / len(data["crisis"])
    assert recall >= MIN_RECALL, f"{locale}: recall {recall:.2f}, missed {missed}"
    alarms = {text: safety.match(text) for text in data["ordinary"] if safety.match(text)}
    assert alarms == {}, f"{locale}: false alerts"


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("ＳＵＩＣＩＤＥ", "suicide"),  # full width
        ("ｼﾆﾀｲ", "しにたい"),  # half-width katakana, read as hiragana
        ("死 に た い。", "死にたい"),  # spaces and punctuation between CJK characters
        ("Tôi muốn CHẾT", "toi muon chet"),  # Vietnamese marks and case
        ("Đi đâu", "di dau"),  # đ is not a combining mark
        ("don’t  want-to", "don t want to"),  # curly apostrophe, runs of separators
        ("मर्न मन लाग्छ।", "मर्न मन लाग्छ"),  # Devanagari signs stay; the danda is punctuation
        ("죽고  싶어요!!", "죽고 싶어요"),
    ],
)
def test_text_is_normalised_before_matching(typed: str, folded: str) -> None:
    assert normalize(typed) == folded


@pytest.mark.parametrize(
    "text",
    [
        "toi muon chet",
        "Tôi muốn chết",
        "wanna die",
        "i just want to end it all",
        "我想去死",
        "もう死のう",
        "いなくなりたい",
        "मलाई मर्न मन लाग्छ",
        "mau mati",
    ],
)
def test_the_forms_named_in_the_issue_are_found(safety: Safety, text: str) -> None:
    assert safety.match(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "ingin matikan laptop",  # Indonesian "mati" inside a longer word
        "mau mati-matian belajar",  # "all-out", an exception
        "어제 자살골 넣었어요",  # "own goal", an exception
        "好久不见，想死你了！",  # "missed you so much", an exception
        "I want to diet before summer",  # whole words: die is not diet
        "締め切りが多くて死ぬほど忙しい",  # hyperbole, decided ordinary (corpus README)
    ],
)
def test_near_misses_raise_nothing(safety: Safety, text: str) -> None:
    assert safety.match(text) is None


def test_zawgyi_typed_burmese_is_matched_through_a_converted_copy(safety: Safety) -> None:
    unicode_text = "သေချင်တယ်"  # "I want to die"
    zawgyi_text = "ေသခ်င္တယ္"  # the same typed with a Zawgyi keyboard
    assert unicode_text not in normalize(zawgyi_text)
    assert safety.match(zawgyi_text) == safety.match(unicode_text) == "သေချင်"
    assert safety.match("ျမန္မာျပည္မွာ အလုပ္လုပ္ခ်င္တယ္") is None  # Zawgyi, ordinary


def test_phrases_of_every_language_are_checked_against_every_message() -> None:
    matcher = Matcher({"ja": ["死にたい"], "vi": ["muốn chết"]})
    assert matcher.match("Sometimes 死にたい") == "死にたい"
    assert matcher.match("em muon chet") == "muốn chết"


def test_word_boundaries_follow_the_script() -> None:
    matcher = Matcher({"x": ["ingin mati", "자살*", "*죽고 싶*", "消えたい"]})
    assert matcher.match("ingin mati.") == "ingin mati"
    assert matcher.match("ingin matikan") is None
    assert matcher.match("자살을 생각해요") == "자살*"
    assert matcher.match("그냥죽고싶어") == "*죽고 싶*"
    assert matcher.match("もう消えたいなあ") == "消えたい"  # no spaces in Japanese: anywhere


def test_choices_and_exceptions() -> None:
    matcher = Matcher(
        {"id": ["(ga|gak|tidak) mau hidup (lagi|)"]}, {"id": ["mau hidup lagi di desa"]}
    )
    assert matcher.match("gak mau hidup") is not None
    assert matcher.match("tidak mau hidup lagi") is not None
    assert matcher.match("nggak mau hidup lagi") is None
    assert matcher.match("ga mau hidup lagi di desa") is None  # overlaps the exception
