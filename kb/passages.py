"""The part of a document that applies to a question's condition (no Rasa imports).

"还有3天起飞改签多少钱" should hear the 7-days-to-48-hours rule, not the whole fee table;
"寄到乌鲁木齐运费" the remote-area line. A question carries a condition when it has:

- a quantity (3天, 两周后, 5个小时, 68块, 70岁, 明天): each body line's own conditions
  (7天以上, 7天内至48小时, 48小时内, 满99元, 不满99元, 超过72小时, 60岁以上) are read
  and the lines whose condition the quantity meets are the answer; when none meets it,
  the lines stating a condition of that kind are (签收10天了还能无理由退吗 -> the 7-day rule);
- a place (杭州, 乌鲁木齐, 成都): the line naming its region (kb/lookups.yml `regions`),
  else the line about 其他地区.

A word only one line mentions (支付宝, 公务舱) is not taken as a condition: "会员等级是怎么
划分的" or "登录密码忘了怎么办" would lose the lines that answer them.

Without a condition, or when nothing singles out fewer lines than the whole body, the
whole document is the answer. Nothing here is per document: a new document's lines are
read the same way.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from kb.dense import body_lines
from kb.retrieval import LOOKUPS_PATH, Document, normalize

# Unit -> (dimension, factor to the dimension's base unit).
UNITS: Dict[str, Tuple[str, float]] = {
    "分钟": ("time", 1 / 60),
    "小时": ("time", 1.0),
    "天": ("time", 24.0),
    "周": ("time", 168.0),
    "个月": ("time", 720.0),
    "元": ("money", 1.0),
    "块": ("money", 1.0),
    "公斤": ("weight", 1.0),
    "岁": ("age", 1.0),
}
_UNIT = "|".join(sorted(UNITS, key=len, reverse=True))
_NUMBER = r"(\d+(?:\.\d+)?)"
_QUANTITY = re.compile(rf"{_NUMBER}\s*(?:个)?({_UNIT})")
_BARE_NUMBER = re.compile(r"(?<![\d.])(\d{2,6})(?![\d.%]|\s*(?:期|个|号|月|点|次|积分|年))")
_RANGE = re.compile(rf"{_NUMBER}({_UNIT})内至{_NUMBER}({_UNIT})")
_RELATIVE_DAYS = {"大后天": 3, "后天": 2, "明天": 1, "今天": 0, "明早": 1, "明晚": 1}
_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CHINESE_NUMBER = re.compile(r"[零一二两三四五六七八九十]+|半")


@dataclass(frozen=True)
class Passage:
    lines: Tuple[int, ...]  # body line numbers, in document order
    text: str
    reason: str  # what in the question singled them out


@dataclass(frozen=True)
class Condition:
    dimension: str
    low: float  # inclusive
    high: float  # exclusive


def chinese_numeral(text: str) -> Optional[float]:
    if text == "半":
        return 0.5
    if "十" in text:
        tens, _, units = text.partition("十")
        value = (_DIGITS.get(tens, 0) if tens else 1) * 10 + (_DIGITS.get(units, 0) if units else 0)
        return float(value)
    if len(text) == 1 and text in _DIGITS:
        return float(_DIGITS[text])
    return None


def with_arabic_numerals(text: str) -> str:
    def replace(match: re.Match) -> str:
        value = chinese_numeral(match.group(0))
        if value is None:
            return match.group(0)
        return f"{value:g}"

    for word, days in _RELATIVE_DAYS.items():
        text = text.replace(word, f"{days}天")
    return _CHINESE_NUMBER.sub(replace, text)


def quantities(question: str) -> List[Tuple[str, float]]:
    """(dimension, value in the base unit) for each quantity the question names."""
    text = with_arabic_numerals(normalize(question).replace(" ", ""))
    found = [(UNITS[unit][0], float(number) * UNITS[unit][1]) for number, unit in _QUANTITY.findall(text)]
    if not found:  # "买了120的东西": an amount without its unit
        found = [("money", float(number)) for number in _BARE_NUMBER.findall(text)]
    return found


def line_conditions(line: str) -> List[Condition]:
    """The conditions a body line states: 7天以上, 7天内至48小时, 48小时内, 满99元, 不满99元 ..."""
    text = normalize(line).replace(" ", "")
    conditions = []
    for high, high_unit, low, low_unit in _RANGE.findall(text):
        dimension, high_factor = UNITS[high_unit]
        low_dimension, low_factor = UNITS[low_unit]
        if dimension == low_dimension:
            conditions.append(Condition(dimension, float(low) * low_factor, float(high) * high_factor))
    text = _RANGE.sub(" ", text)
    for match in _QUANTITY.finditer(text):
        dimension, factor = UNITS[match.group(2)]
        value = float(match.group(1)) * factor
        before, after = text[max(0, match.start() - 3) : match.start()], text[match.end() : match.end() + 2]
        if before.endswith("不满") or before.endswith("不超过"):
            conditions.append(Condition(dimension, float("-inf"), value))
        elif before.endswith("满") or before.endswith("超过") or after.startswith("以上"):
            conditions.append(Condition(dimension, value, float("inf")))
        elif after.startswith("内") or after.startswith("以内") or after.startswith("之内"):
            conditions.append(Condition(dimension, float("-inf"), value + 1e-9))
    return conditions


@functools.lru_cache(maxsize=1)
def regions() -> Dict[str, str]:
    """Place -> the region a line would name (杭州 -> 浙江), from kb/lookups.yml."""
    data = yaml.safe_load(LOOKUPS_PATH.read_text(encoding="utf-8")) or {}
    places = {}
    for region, members in (data.get("regions") or {}).items():
        places[str(region)] = str(region)
        for member in members or []:
            places[str(member)] = str(region)
    return places


@functools.lru_cache(maxsize=1)
def places_longest_first() -> Tuple[str, ...]:
    """regions()' places, longest first, so 乌鲁木齐 is matched before a shorter name inside it."""
    return tuple(sorted(regions(), key=len, reverse=True))


def without_conditions(question: str) -> str:
    """The question with its places and quantities taken out: what it asks about, not for whom.

    A city or an amount is new to the documents' vocabulary and would otherwise weigh most
    when judging how much of the question a document covers ("发成都要几天")."""
    text = with_arabic_numerals(normalize(question))
    for place in places_longest_first():
        text = text.replace(place, " ")
    text = _QUANTITY.sub(" ", text)
    return _BARE_NUMBER.sub(" ", text)


def _by_quantity(lines: Sequence[str], question: str) -> Tuple[List[int], str]:
    asked = quantities(question)
    if not asked:
        return [], ""
    stated = [line_conditions(line) for line in lines]
    for dimension, value in asked:
        with_kind = [
            i for i, conditions in enumerate(stated) if any(c.dimension == dimension for c in conditions)
        ]
        met = [
            i
            for i in with_kind
            if any(c.dimension == dimension and c.low <= value < c.high for c in stated[i])
        ]
        chosen = met or with_kind
        if chosen:
            return chosen, f"{dimension} {value:g}"
    return [], ""


def _by_place(lines: Sequence[str], question: str) -> Tuple[List[int], str]:
    text = normalize(question).replace(" ", "")
    places = regions()
    named = [place for place in places_longest_first() if place in text]
    if not named:
        return [], ""
    region = places[named[0]]
    chosen = [i for i, line in enumerate(lines) if region in line]
    if not chosen:
        chosen = [i for i, line in enumerate(lines) if "其他地区" in line]
    mentions_places = any(any(place in line for place in places) for line in lines)
    return (chosen, f"place {named[0]} ({region})") if chosen and mentions_places else ([], "")


def select_passage(document: Document, question: str) -> Optional[Passage]:
    """The body lines that apply to the question's condition, or None for the whole document."""
    lines = body_lines(document)
    if len(lines) < 2:
        return None
    for chosen, reason in (_by_quantity(lines, question), _by_place(lines, question)):
        if chosen and len(chosen) < len(lines):
            return Passage(tuple(chosen), "\n".join(lines[i] for i in chosen), reason)
    return None
