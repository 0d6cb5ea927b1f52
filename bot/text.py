"""Text helpers shared by channels and renderers."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """Split text into chunks of at most `limit` characters, on line boundaries when possible.

    Nothing is dropped but the newlines the chunks were split at: a single line longer than
    `limit` is cut after a space if there is one (the space stays at the end of its chunk),
    else hard.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = line if not current else f"{current}\n{line}"
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        while len(line) > limit:
            space = line.rfind(" ", 0, limit)
            cut = space + 1 if space >= 0 else limit
            chunks.append(line[:cut])
            line = line[cut:]
        current = line
    if current or not chunks:
        chunks.append(current)
    return chunks
