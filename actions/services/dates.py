"""Dates as customers type them (明天 · 下周三 · 12月5号 · 2026-12-05), resolved to a calendar day.

Choices where Chinese is ambiguous:
- a date without a year (12月5号) is the next one to come: typed after 5 December it
  means next year's; a bare day (5号) typed after the 5th means next month's;
- a bare weekday (周三) is the coming one with today excluded, so 周三 said on a
  Wednesday is next week's;
- 下个月3号 / 这个月20号 name a day of that month, past or not;
- 这周三 / 本周三 / 下周三 / 上周三 name a day of this / next / last calendar week,
  weeks starting on Monday; 这周三 said on a Friday is therefore already past;
- 12.5 and 12/5 are not read as dates (decimal or fraction?), only with a year.
A change request may name two days (明天不行，改到5号 · 把12月3号的改到明天): the new one is the
first after the last 改到 / 换成 / 推迟到 / to…, else the last one named that is not ruled out
(5号吧，明天不行 is the 5th); 明天不行 alone names no new day.
English forms in mixed messages (tomorrow · next Friday · Dec 10 · 10th December) follow the
same choices: next Friday is 下周五, last Friday 上周五; Friday alone and this Friday are the
coming one (said on a Sunday, this Friday is not the past one of a Monday-based week).
"""
from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from re import Match, Pattern
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from actions.services.formatting import fold_width

CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3,
    "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
NUMBER = r"(\d{1,2}|[零〇一二两兩三四五六七八九十]{1,3})"

RELATIVE_DAYS = {
    "大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0,
    "明天": 1, "明日": 1, "后天": 2, "後天": 2, "大后天": 3, "大後天": 3,
}
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
# 上周 / 这个月 / 下下周…: how many weeks or months from this one.
PERIOD_OFFSETS = {"上": -1, "这": 0, "這": 0, "本": 0, "下": 1, "下下": 2}

ENGLISH_RELATIVE_DAYS = {
    "the day before yesterday": -2, "day before yesterday": -2, "yesterday": -1, "today": 0,
    "tonight": 0, "tomorrow": 1, "tmr": 1, "tmrw": 1, "the day after tomorrow": 2, "day after tomorrow": 2,
}
ENGLISH_WEEKDAYS = {
    "monday": 0, "tuesday": 1, "tues": 1, "wednesday": 2, "thursday": 3, "thurs": 3,
    "friday": 4, "saturday": 5, "sunday": 6,
}
# "this Friday" is the coming Friday, as Friday alone: English weeks do not all start on Monday.
ENGLISH_WEEK_OFFSETS: Dict[str, Optional[str]] = {"last": "上", "this": None, "next": "下"}
ENGLISH_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAME = (r"(january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug|"
               r"september|sept|sep|october|oct|november|nov|december|dec)(?![a-z])\.?")
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"

FULL_DATE = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
MONTH_DAY = re.compile(rf"(?<!\d){NUMBER}月{NUMBER}[日号號]?")
# 一下 is "for a moment": in 退一下下周三的票 the week is 下周, not 下下周 (the same for months).
RELATIVE_MONTH_DAY = re.compile(rf"((?<!一)下下|下|上|这|這|本)(?:个|個)?月{NUMBER}[日号號]")
WEEKDAY = re.compile(r"((?<!一)下下|下|上|这|這|本)?(?:个|個)?(?:周|週|星期|礼拜|禮拜)([一二三四五六日天])")
# Longest first, so 大后天 is not read as 后天.
RELATIVE = re.compile("|".join(sorted(RELATIVE_DAYS, key=len, reverse=True)))
DAY_OF_MONTH = re.compile(rf"(?<![\d月零〇一二两兩三四五六七八九十]){NUMBER}[号號日]")
ENGLISH_RELATIVE = re.compile(
    r"(?<![a-z])(" + "|".join(sorted(ENGLISH_RELATIVE_DAYS, key=len, reverse=True)) + r")(?![a-z])", re.IGNORECASE)
ENGLISH_WEEKDAY = re.compile(
    r"(?<![a-z])(?:(last|this|next)\s+)?(" + "|".join(ENGLISH_WEEKDAYS) + r")(?![a-z])", re.IGNORECASE)
ENGLISH_MONTH_DAY = re.compile(
    rf"(?<![a-z]){_MONTH_NAME}\s*{_ORDINAL}(?![\d:])|(?<![\d:]){_ORDINAL}\s*(?:of\s+)?{_MONTH_NAME}", re.IGNORECASE)
# 改到 / 换成 / 推迟到 / change to: what follows is the day a change request moves to.
CHANGE_TO = re.compile(
    r"(?:改簽|改签|改|换|換|挪|推迟|推遲|推|延期|延后|延後|延|提前|调整|調整|调|調)(?:到|成|为|為|至)"
    r"|(?<![a-z])(?:to|until)(?![a-z])", re.IGNORECASE)
# 明天不行 · 周五没空 · Friday doesn't work: said right after a day, it rules that day out.
RULED_OUT = re.compile(
    r"\s*(?:也|都|肯定|可能)?(?:不行|不可以|不方便|不合适|没空|没时间|有事|去不了|走不了|飞不了|赶不上|不成)(?![吗嘛么?])"
    r"|\s*(?:doesn'?t|does not|won'?t|will not|can'?t|cannot) work|\s*is no good", re.IGNORECASE)


def chinese_number(text: str) -> Optional[int]:
    """'5' / '五' / '十二' / '二十一' / '三十' -> int; None for anything else."""
    if text.isdigit():
        return int(text)
    tens, has_ten, ones = text.partition("十")
    if not has_ten:
        return CN_DIGITS.get(text)
    tens_value = CN_DIGITS.get(tens) if tens else 1
    ones_value = CN_DIGITS.get(ones) if ones else 0
    if tens_value is None or ones_value is None:
        return None
    return tens_value * 10 + ones_value


def shift_month(year: int, month: int, months: int) -> Tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def add_months(day: date, months: int) -> date:
    """The same day of another month, clamped to its length (31 March - 1 month = 28/29 February)."""
    year, month = shift_month(day.year, day.month, months)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def week_start(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def is_past(day: date, today: date) -> bool:
    return day < today


def _calendar_day(year: int, month: Optional[int], day: Optional[int]) -> Optional[date]:
    if month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _first_to_come(today: date, candidates: Iterable[Tuple[int, Optional[int], Optional[int]]]) -> Optional[date]:
    for year, month, day in candidates:
        found = _calendar_day(year, month, day)
        if found is not None and not is_past(found, today):
            return found
    return None


def _full_date(match: Match[str], today: date) -> Optional[date]:
    return _calendar_day(int(match[1]), int(match[2]), int(match[3]))


def _coming_month_day(today: date, month: Optional[int], day: Optional[int]) -> Optional[date]:
    return _first_to_come(today, ((today.year + years, month, day) for years in (0, 1)))


def _month_day(match: Match[str], today: date) -> Optional[date]:
    return _coming_month_day(today, chinese_number(match[1]), chinese_number(match[2]))


def _relative_month_day(match: Match[str], today: date) -> Optional[date]:
    year, month = shift_month(today.year, today.month, PERIOD_OFFSETS[match[1]])
    return _calendar_day(year, month, chinese_number(match[2]))


def _day_of_month(match: Match[str], today: date) -> Optional[date]:
    day = chinese_number(match[1])
    # Two months ahead at most: no two months in a row both lack a 31st.
    months = (shift_month(today.year, today.month, ahead) for ahead in range(3))
    return _first_to_come(today, ((year, month, day) for year, month in months))


def _day_of_week(today: date, weekday: int, week: Optional[str]) -> date:
    """The coming one (today excluded) without a week; else that day of 上/这/下/下下 week."""
    if week is None:
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    return week_start(today) + timedelta(weeks=PERIOD_OFFSETS[week], days=weekday)


def _weekday(match: Match[str], today: date) -> date:
    return _day_of_week(today, WEEKDAYS[match[2]], match[1])


def _relative(match: Match[str], today: date) -> date:
    return today + timedelta(days=RELATIVE_DAYS[match[0]])


def _english_relative(match: Match[str], today: date) -> date:
    return today + timedelta(days=ENGLISH_RELATIVE_DAYS[match[1].lower()])


def _english_weekday(match: Match[str], today: date) -> date:
    week = ENGLISH_WEEK_OFFSETS[match[1].lower()] if match[1] else None
    return _day_of_week(today, ENGLISH_WEEKDAYS[match[2].lower()], week)


def _english_month_day(match: Match[str], today: date) -> Optional[date]:
    month_name, day = (match[1], match[2]) if match[1] else (match[4], match[3])
    return _coming_month_day(today, ENGLISH_MONTHS.index(month_name[:3].lower()) + 1, int(day))


# Most specific form first: 2026年12月5日 before 12月5日 before 5日, and an English form next to its
# Chinese one, so a mixed message (明天 or Friday) resolves as its Chinese form (明天或周五) does.
PARSERS: List[Tuple[Pattern[str], Callable[[Match[str], date], Optional[date]]]] = [
    (FULL_DATE, _full_date),
    (MONTH_DAY, _month_day),
    (ENGLISH_MONTH_DAY, _english_month_day),
    (RELATIVE_MONTH_DAY, _relative_month_day),
    (WEEKDAY, _weekday),
    (ENGLISH_WEEKDAY, _english_weekday),
    (RELATIVE, _relative),
    (ENGLISH_RELATIVE, _english_relative),
    (DAY_OF_MONTH, _day_of_month),
]


def _named_days(text: str, today: date) -> List[Tuple[Match[str], Optional[date]]]:
    """(where, day) of every date the text names, most specific form first; a form inside a
    more specific one (12月5日 in 2026年12月5日) is not counted. An impossible day is None."""
    named: List[Tuple[Match[str], Optional[date]]] = []
    for pattern, build in PARSERS:
        for match in pattern.finditer(text):
            if not any(match.start() < where.end() and where.start() < match.end() for where, _ in named):
                named.append((match, build(match, today)))
    return named


def resolve_date(text: str, today: date) -> Optional[date]:
    """The calendar day a message names, or None (also for an impossible one like 2月30日)."""
    named = _named_days(fold_width(text), today)
    return named[0][1] if named else None


def names_a_day(text: str) -> bool:
    """Whether the text names any day at all, possible or not (2月30号 is named)."""
    text = fold_width(text)
    return any(pattern.search(text) for pattern, _ in PARSERS)


def _days_as_written(text: str, today: date) -> List[Tuple[int, Optional[date], bool]]:
    """(position, day, ruled out) of every day the folded text names, in the order written."""
    named = sorted(_named_days(text, today), key=lambda where_day: where_day[0].start())
    return [(where.start(), day, bool(RULED_OUT.match(text, where.end()))) for where, day in named]


def only_ruled_out_days(text: str, today: date) -> List[date]:
    """The days named when the text only rules days out (明天不行 · 周五没空 · Friday doesn't work),
    in the order written; empty when it names any other day (明天不行，改到5号)."""
    named = _days_as_written(fold_width(text), today)
    ruled_out = [day for _, day, out in named if day is not None and out]
    return ruled_out if len(ruled_out) == len(named) else []


def resolve_new_date(text: str, today: date) -> Optional[date]:
    """The day a change request moves to: the first named after the last 改到 / to…, else the last
    one named that is not ruled out (明天不行，5号吧 · 5号吧，明天不行), or None."""
    text = fold_width(text)
    named = _days_as_written(text, today)
    last_marker = max((marker.end() for marker in CHANGE_TO.finditer(text)), default=None)
    after_marker = [day for position, day, _ in named if last_marker is not None and position >= last_marker]
    if after_marker:
        return after_marker[0]
    wanted = [day for _, day, ruled_out in named if not ruled_out]
    return wanted[-1] if wanted else None
