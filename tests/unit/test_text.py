"""Splitting long messages for the platforms' limits loses nothing."""

from __future__ import annotations

import pytest

from bot.text import split_text


@pytest.mark.parametrize("limit", [10, 50, 4096, 5000])
def test_split_keeps_every_character(limit: int) -> None:
    text = ("面接の練習 " * 700 + "\n" + "x" * 9000 + "\n\n" + "word " * 2000).strip()
    chunks = split_text(text, limit)
    assert all(0 < len(chunk) <= limit for chunk in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")


def test_lines_are_kept_together_when_they_fit() -> None:
    text = "\n".join(f"line {n}" for n in range(100))
    chunks = split_text(text, 60)
    assert all(not chunk.startswith("\n") and not chunk.endswith("\n") for chunk in chunks)
    assert "\n".join(chunks) == text


def test_short_text_is_one_chunk() -> None:
    assert split_text("", 10) == [""]
    assert split_text("hello", 5) == ["hello"]
