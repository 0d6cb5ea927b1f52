"""Whether a typed answer to a yes/no question means yes, in any of the twelve languages.

Only a whole message that is a yes (after normalisation) counts: "はい", "Có ạ", "네!",
"yes please". Anything else ("maybe", "はい、でも今は忙しい") is kept as an answer in the
student's words and is not read as a yes: when in doubt, the bot does not decide for them.
"""

from __future__ import annotations

import unicodedata
from functools import cache

YES: dict[str, tuple[str, ...]] = {
    "en": (
        "yes",
        "yeah",
        "yep",
        "yup",
        "y",
        "sure",
        "ok",
        "okay",
        "of course",
        "yes please",
        "yes i would",
        "i would like to",
        "id like to",
        "definitely",
    ),
    "ja": (
        "はい",
        "うん",
        "ええ",
        "ぜひ",
        "是非",
        "もちろん",
        "お願いします",
        "はいお願いします",
        "ぜひお願いします",
        "話したい",
        "話したいです",
        "はい話したいです",
        "はい、ぜひ",
    ),
    "zh_Hans": (
        "是",
        "是的",
        "想",
        "想的",
        "我想",
        "好",
        "好的",
        "要",
        "可以",
        "当然",
        "嗯",
        "对",
        "想聊",
        "想谈谈",
    ),
    "zh_Hant": (
        "是",
        "是的",
        "想",
        "我想",
        "好",
        "好的",
        "要",
        "可以",
        "當然",
        "嗯",
        "對",
        "想聊",
        "想談談",
    ),
    "ko": (
        "네",
        "예",
        "응",
        "네네",
        "좋아요",
        "네 좋아요",
        "그래요",
        "물론이죠",
        "원해요",
        "네 원해요",
        "이야기하고 싶어요",
        "네 이야기하고 싶어요",
    ),
    "vi": (
        "có",
        "vâng",
        "dạ",
        "dạ có",
        "có ạ",
        "vâng ạ",
        "dạ vâng",
        "ừ",
        "muốn",
        "có muốn",
        "em muốn",
        "được",
        "có em muốn",
    ),
    "ne": ("हो", "हजुर", "हुन्छ", "हो नि", "चाहन्छु", "ho", "hajur", "huncha", "hunchha"),
    "my": ("ဟုတ်", "ဟုတ်ကဲ့", "ဟုတ်ကဲ့ပါ", "ဟုတ်ပါတယ်", "ပြောချင်ပါတယ်", "ဟုတ်ကဲ့ ပြောချင်ပါတယ်"),
    "si": ("ඔව්", "ඔව් කැමතියි", "කැමතියි", "ow", "ou"),
    "id": ("ya", "iya", "mau", "boleh", "tentu", "ya mau", "iya mau", "ya saya mau", "tentu saja"),
    "bn": ("হ্যাঁ", "হাঁ", "হ্যা", "জি", "জি হ্যাঁ", "অবশ্যই", "ha", "haan", "ji"),
    "mn": ("тийм", "тиймээ", "за", "болно", "тэгье", "tiim", "za"),
}


def normalize(text: str) -> str:
    """NFKC, case-folded, without spaces, punctuation or symbols (emoji, "!", "。")."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] not in "PZSC")


def without_marks(text: str) -> str:
    """Latin letters without their diacritics ("có" -> "co"): students often type so.
    Other scripts keep their marks: in Devanagari or Burmese they are letters."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = [
        c
        for i, c in enumerate(decomposed)
        if not (
            unicodedata.category(c) == "Mn"
            and i > 0
            and "LATIN" in unicodedata.name(decomposed[i - 1], "")
        )
    ]
    return unicodedata.normalize("NFC", "".join(kept)).replace("đ", "d")


@cache
def _forms() -> frozenset[str]:
    forms: set[str] = set()
    for words in YES.values():
        for word in words:
            forms.add(normalize(word))
            forms.add(without_marks(normalize(word)))
    return frozenset(forms)


def means_yes(text: str, *, also: tuple[str, ...] = ()) -> bool:
    """True when the whole message is a yes in one of the shipped languages, or one of the
    `also` answers (the words of the question's own Yes button)."""
    typed = normalize(text)
    if not typed:
        return False
    extra = {normalize(answer) for answer in also} - {""}
    return typed in extra or typed in _forms() or without_marks(typed) in _forms()
