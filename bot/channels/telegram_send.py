"""Render neutral replies as an ordered list of Bot API calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest

from bot.channels.telegram_translate import callback_data
from bot.engine.replies import Button, Document, Reply
from bot.text import split_text

MAX_TEXT = 4096
MAX_CAPTION = 1024

Step = Callable[[Bot], Awaitable[object]]


def plan(chat_id: int, replies: Sequence[Reply]) -> list[Step]:
    """Return the API calls that send these replies, in order; each call is one message."""
    steps: list[Step] = []
    for reply in replies:
        steps.extend(_reply_steps(chat_id, reply))
    return steps


def keyboard(buttons: Sequence[Button], columns: int) -> InlineKeyboardMarkup | None:
    """Lay buttons out `columns` to a row, in order."""
    if not buttons:
        return None
    width = max(1, columns)
    rows = [
        [
            InlineKeyboardButton(b.label, callback_data=callback_data(b.data, keep=b.keep))
            for b in buttons[i : i + width]
        ]
        for i in range(0, len(buttons), width)
    ]
    return InlineKeyboardMarkup(rows)


def _reply_steps(chat_id: int, reply: Reply) -> list[Step]:
    markup = keyboard(reply.buttons, reply.columns)
    editable = reply.replaces.isdigit() and reply.document is None
    if editable and 0 < len(reply.text) <= MAX_TEXT:
        return [
            partial(
                _edit_text,
                chat_id=chat_id,
                message_id=int(reply.replaces),
                text=reply.text,
                markup=markup,
            )
        ]
    if reply.document is None:
        chunks = split_text(reply.text, MAX_TEXT)
        return [
            _text_step(chat_id, chunk, markup if last else None)
            for last, chunk in _mark_last(chunks)
        ]
    steps: list[Step] = []
    caption: str | None = reply.text
    if len(reply.text) > MAX_CAPTION:
        steps = [_text_step(chat_id, chunk, None) for chunk in split_text(reply.text, MAX_TEXT)]
        caption = None
    send_document = partial(
        _send_document, chat_id=chat_id, document=reply.document, caption=caption or None
    )
    steps.append(partial(send_document, markup=markup))
    return steps


def _text_step(chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> Step:
    return partial(_send_text, chat_id=chat_id, text=text, markup=markup)


async def _send_text(
    bot: Bot, *, chat_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> object:
    return await bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)


async def _edit_text(
    bot: Bot, *, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> object:
    """Edit the message in place; one that can no longer be edited (deleted, too old) is
    sent anew, so the reader still gets it."""
    try:
        return await bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, reply_markup=markup
        )
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return None
        return await _send_text(bot, chat_id=chat_id, text=text, markup=markup)


async def _send_document(
    bot: Bot,
    *,
    chat_id: int,
    document: Document,
    caption: str | None,
    markup: InlineKeyboardMarkup | None,
) -> object:
    upload = InputFile(document.content, filename=document.filename)
    upload.mimetype = document.mime_type
    return await bot.send_document(
        chat_id=chat_id, document=upload, caption=caption, reply_markup=markup
    )


def _mark_last(items: list[str]) -> list[tuple[bool, str]]:
    return [(index == len(items) - 1, item) for index, item in enumerate(items)]
