"""Normalisation of customer text that keeps every character where it was.

Customers write 訂單ＸＨ2611010001到哪了？？？😡; the NLU should see 订单XH2611010001到哪了?  .
A bare 👍 to 确认取消吗？ means yes: it reads as 好; 🙏 reads as 谢 and 👋 as 嗨.
Kaomoji such as (*^▽^*) or ^_^ are decoration, like emoji.
Every rule maps one character to one character (or to a space), so token and entity
offsets computed on the normalised text are offsets in the original text too.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

import opencc

# An ASCII run with a digit in it is an id (order, ticket, flight, booking): upper case.
_ID_RUN = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z]*[0-9])[A-Za-z0-9]+(?![A-Za-z0-9])")
_SENTENCE_PUNCTUATION = "!?.,~。！？，、…～"
_PUNCTUATION_RUN = re.compile(f"([{re.escape(_SENTENCE_PUNCTUATION)}])\\1+")
# A letter typed three times or more is drawn out (byeeee, hiiii): one is kept.  Lower case only,
# so the ids upper-cased above (AAA123) are untouched.
_DRAWN_OUT_LETTER = re.compile(r"([a-z])\1{2,}")
# Brackets around no Chinese, no Latin letter, digit or space hold a face, as in (｡･ω･｡) or (・ω・),
# whose eyes and mouth may be letters of other scripts or a full stop.
_KAOMOJI_FACE = re.compile(r"[(（][^()（）\u4e00-\u9fffA-Za-z0-9\s]{1,15}[)）]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# In Chinese chat a thumbs-up or OK sign answers yes, folded hands thank (or ask politely) and a
# waving hand greets; other emoji carry no request.
_EMOJI_WORDS = {"👍": "好", "👌": "好", "🆗": "好", "🙏": "谢", "👋": "嗨"}


@functools.lru_cache(maxsize=1)
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _is_decoration(char: str) -> bool:
    """Emoji, pictographs and the joiners / selectors / skin tones that build them."""
    if char in "\u200d\ufe0e\ufe0f":
        return True
    category = unicodedata.category(char)
    return category == "So" or (category == "Sk" and 0x1F3FB <= ord(char) <= 0x1F3FF)


def _is_symbol(char: str) -> bool:
    """Neither a letter, a digit, a space nor sentence punctuation: what kaomoji are made of."""
    return not (char.isspace() or char in _SENTENCE_PUNCTUATION or unicodedata.category(char)[0] in "LN")


def _blank_symbol_runs(text: str) -> str:
    """A face in brackets, and two or more symbols in a row, as in :) or ^_^ or (*^▽^*), become
    spaces; a lone - : or ( stays."""
    text = _KAOMOJI_FACE.sub(lambda m: " " * len(m.group(0)), text)
    pieces = []
    for symbol, group in itertools.groupby(text, key=_is_symbol):
        run = "".join(group)
        pieces.append(" " * len(run) if symbol and len(run) > 1 else run)
    return "".join(pieces)


def _half_width(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char)
    return folded if len(folded) == 1 else char


def to_simplified(text: str) -> str:
    """Traditional -> simplified with phrase context, character by character if lengths differ.
    Half an emoji (a lone surrogate, from a client that cut the message inside one) becomes a
    space: OpenCC cannot encode it and would fail the whole parse."""
    text = _LONE_SURROGATE.sub(" ", text)
    converted: str = _to_simplified().convert(text)
    if len(converted) == len(text):
        return converted
    return "".join(c if len(c := _to_simplified().convert(char)) == 1 else char for char in text)


def _keep_first(match: re.Match[str]) -> str:
    return match.group(1) + " " * (len(match.group(0)) - 1)


def normalise(text: str) -> str:
    """Same-length text: simplified, half-width, ids upper-cased, 👍 as 好 (🙏 谢, 👋 嗨), other emoji,
    kaomoji, repeated punctuation and the repeats of a drawn-out letter as spaces."""
    text = "".join(_EMOJI_WORDS.get(char) or _half_width(char) for char in text)
    text = to_simplified(text)
    text = _ID_RUN.sub(lambda m: m.group(0).upper(), text)
    text = _PUNCTUATION_RUN.sub(_keep_first, text)
    text = _DRAWN_OUT_LETTER.sub(_keep_first, text)
    # Runs first, so that the emoji inside a kaomoji do not split it into lone brackets.
    return "".join(" " if _is_decoration(char) else char for char in _blank_symbol_runs(text))
