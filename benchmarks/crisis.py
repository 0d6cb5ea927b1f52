"""How well crisis phrases are found in the labelled corpus (tests/data/crisis/), per
language, and how fast messages are checked.

crisis_recall_<locale>: share of the corpus's crisis messages that raise an alert (goal >= 0.9).
crisis_false_alert_rate_<locale>: share of its ordinary messages that raise one (goal 0).
crisis_checks_per_second: messages checked per second (the whole corpus, repeatedly), and
crisis_check_cost_vs_substring: that time over the old NFKC + plain-substring check of
the same phrases, measured in the same run.
"""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import yaml

from bot.i18n import SHIPPED_LOCALES
from bot.prompts import load_prompts

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "crisis"
ROUNDS = 20


def corpus(locale: str) -> dict[str, list[str]]:
    data: dict[str, list[str]] = yaml.safe_load(
        (CORPUS / f"{locale}.yaml").read_text(encoding="utf-8")
    )
    return data


def run() -> dict[str, float]:
    safety = load_prompts().safety
    figures: dict[str, float] = {}
    everything: list[str] = []
    for locale in SHIPPED_LOCALES:
        data = corpus(locale)
        found = sum(safety.match(text) is not None for text in data["crisis"])
        alarms = sum(safety.match(text) is not None for text in data["ordinary"])
        figures[f"crisis_recall_{locale}"] = found / len(data["crisis"])
        figures[f"crisis_false_alert_rate_{locale}"] = alarms / len(data["ordinary"])
        everything += data["crisis"] + data["ordinary"]

    started = time.perf_counter()
    for _ in range(ROUNDS):
        for text in everything:
            safety.match(text)
    matcher = time.perf_counter() - started

    plain = [
        unicodedata.normalize("NFKC", p).casefold().strip("*")
        for phrases in safety.phrases.values()
        for p in phrases
    ]
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for text in everything:
            haystack = unicodedata.normalize("NFKC", text).casefold()
            any(p in haystack for p in plain)
    substring = time.perf_counter() - started

    figures["crisis_checks_per_second"] = ROUNDS * len(everything) / matcher
    figures["crisis_check_cost_vs_substring"] = matcher / substring
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:44s} {value:12.3f}")
