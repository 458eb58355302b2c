"""Bot texts made for the ear: ids read digit by digit, no emoji, no layout."""

from __future__ import annotations

import re
from typing import Mapping

# Order, waybill, ticket and flight ids, phone numbers: letters + digits or long digit runs.
_IDENTIFIER = re.compile(r"[A-Za-z]{1,4}\d{3,}|\d{6,}")
# 138****8001: a masked phone number is read as its last four digits.
_MASKED_PHONE = re.compile(r"\d{3}\*{4}(\d{4})")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]")
_SENTENCE_END = "。！？；：，.!?;:,"


def spell(identifier: str) -> str:
    """XH2611010001 -> 'X H 2 6 1 1 0 1 0 0 0 1': TTS reads each character, not a number."""
    return " ".join(identifier.upper())


def speakable(text: str) -> str:
    text = _EMOJI.sub("", text)
    text = _MASKED_PHONE.sub(lambda m: f"尾号 {spell(m.group(1))} 的手机", text)
    text = _IDENTIFIER.sub(lambda m: spell(m.group(0)), text).replace("*", "")  # 张* -> 张
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # A line break is a pause: end the line as a sentence unless it already is one.
    return "".join(line if line[-1] in _SENTENCE_END else line + "。" for line in lines)


def keypad_prompt(choices: Mapping[str, str]) -> str:
    """'按1，退货政策；按2，退款时效。' for {'1': '退货政策', '2': '退款时效'}."""
    return "；".join(f"按{key}，{title}" for key, title in choices.items()) + "。"


# Speech recognition may write spoken ids as Chinese digits ("二六一一…") or spaced letters.
_CHINESE_DIGITS = str.maketrans("零〇一二三四五六七八九幺", "001234567891")
_SPOKEN_DIGIT_RUN = re.compile("[零〇一二三四五六七八九幺]{4,}")
_SPACE_IN_ID = re.compile(r"(?<=[A-Za-z0-9])\s+(?=[A-Za-z0-9])")


def written_ids(speech: str) -> str:
    """'X H 二六一一零一零零零一' -> 'XH2611010001', so ids said aloud match the written form."""
    digits = _SPOKEN_DIGIT_RUN.sub(lambda m: m.group(0).translate(_CHINESE_DIGITS), speech)
    return _SPACE_IN_ID.sub("", digits)
