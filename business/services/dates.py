"""Dates as customers type them (明天 · 下周三 · 12月5号 · 2026-12-05), resolved to a calendar day.

Choices where Chinese is ambiguous:
- a date without a year (12月5号) is the next one to come: typed after 5 December it
  means next year's; a bare day (5号) typed after the 5th means next month's;
- a bare weekday (周三) is the coming one with today excluded, so 周三 said on a
  Wednesday is next week's;
- 下个月3号 / 这个月20号 name a day of that month, past or not;
- 这周三 / 本周三 / 下周三 / 上周三 name a day of this / next / last calendar week,
  weeks starting on Monday; 这周三 said on a Friday is therefore already past;
- 12.5 and 12/5 are month first, as Chinese writes them: 5 December (see below).
A change request may name two days (明天不行，改到5号 · 把12月3号的改到明天): the new one is the
first after the last 改到 / 换成 / 推迟到 / to…, else the last one named that is not ruled out
(5号吧，明天不行 is the 5th); 明天不行 alone names no new day.
English forms in mixed messages (tomorrow · next Friday · Dec 10 · 10th December) follow the
same choices: next Friday is 下周五, last Friday 上周五; Friday alone and this Friday are the
coming one (said on a Sunday, this Friday is not the past one of a Monday-based week).

The everyday forms beyond those (tests/unit/date_expressions.yml is the table they must pass):
- 三天后 · 3天以后 · 再过三天 · 一周后 · 两个礼拜之后 · 一个月后 · in 3 days: counted from today
  (a month later is the same day, clamped: 31 January + 1 month = 28 February); 过两天 alone is
  "in a day or two", and 几天后 / 半个月后 name no one day;
- 周末 / 这周末 is this week's Saturday, or today when said on a Sunday; 下周末 next week's Saturday;
- 月底 / 月末 the last day of this month; 月初 the next 1st to come; 月中 the 15th to come;
  这个月底 · 下个月初 · 12月底 that month's (12月底 with the future preference); 年底 31 December;
- 12/10 and 12.10 are month first (10 December; 10/12 is 12 October) and take the future
  preference; 25/12 is no date, nor a number with a unit (12.5元 · 3.5折 · 1.5小时);
- festivals (元旦 · 五一 · 国庆 · 圣诞 · 春节 · 除夕 · 元宵 · 清明 · 端午 · 七夕 · 中秋 · 重阳) are the
  next one to come, today included, or that of the year named (明年春节); 春节前 / 国庆期间 /
  国庆假期 name a stretch of days, not one; 除夕前一天 is the day before. 十一 (the 11th or
  National Day?) is not read;
- 今年 / 明年 before a date name its year: 明年11月25号.
A list of days that one refusal follows (明天和后天都不行) rules them all out.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from re import Match, Pattern
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from business.formatting import fold_width

CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
NUMBER = r"(\d{1,2}|[零〇一二两兩三四五六七八九十]{1,3})"

RELATIVE_DAYS = {
    "大前天": -3,
    "前天": -2,
    "昨天": -1,
    "昨日": -1,
    "今天": 0,
    "今日": 0,
    "明天": 1,
    "明日": 1,
    "后天": 2,
    "後天": 2,
    "大后天": 3,
    "大後天": 3,
}
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
# 上周 / 这个月 / 下下周…: how many weeks or months from this one.
PERIOD_OFFSETS = {"上": -1, "这": 0, "這": 0, "本": 0, "下": 1, "下下": 2}

ENGLISH_RELATIVE_DAYS = {
    "the day before yesterday": -2,
    "day before yesterday": -2,
    "yesterday": -1,
    "today": 0,
    "tonight": 0,
    "tomorrow": 1,
    "tmr": 1,
    "tmrw": 1,
    "the day after tomorrow": 2,
    "day after tomorrow": 2,
}
ENGLISH_WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "tues": 1,
    "wednesday": 2,
    "thursday": 3,
    "thurs": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
# "this Friday" is the coming Friday, as Friday alone: English weeks do not all start on Monday.
ENGLISH_WEEK_OFFSETS: Dict[str, Optional[str]] = {"last": "上", "this": None, "next": "下"}
ENGLISH_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAME = (
    r"(january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug|"
    r"september|sept|sep|october|oct|november|nov|december|dec)(?![a-z])\.?"
)
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
    r"(?<![a-z])(" + "|".join(sorted(ENGLISH_RELATIVE_DAYS, key=len, reverse=True)) + r")(?![a-z])",
    re.IGNORECASE,
)
ENGLISH_WEEKDAY = re.compile(
    r"(?<![a-z])(?:(last|this|next)\s+)?(" + "|".join(ENGLISH_WEEKDAYS) + r")(?![a-z])", re.IGNORECASE
)
ENGLISH_MONTH_DAY = re.compile(
    rf"(?<![a-z]){_MONTH_NAME}\s*{_ORDINAL}(?![\d:])|(?<![\d:]){_ORDINAL}\s*(?:of\s+)?{_MONTH_NAME}",
    re.IGNORECASE,
)
# 改到 / 换成 / 推迟到 / change to: what follows is the day a change request moves to.
CHANGE_TO = re.compile(
    r"(?:改簽|改签|改|换|換|挪|推迟|推遲|推|延期|延后|延後|延|提前|调整|調整|调|調)(?:到|成|为|為|至)"
    r"|(?<![a-z])(?:to|until)(?![a-z])",
    re.IGNORECASE,
)
# 明天不行 · 周五没空 · Friday doesn't work: said right after a day, it rules that day out.
RULED_OUT = re.compile(
    r"\s*(?:也|都|肯定|可能)?(?:不行|不可以|不方便|不合适|没空|没时间|有事|去不了|走不了|飞不了|赶不上|不成)(?![吗嘛么?])"
    r"|\s*(?:doesn'?t|does not|won'?t|will not|can'?t|cannot) work|\s*is no good",
    re.IGNORECASE,
)

# 明天和后天都不行: days joined by these share the refusal that follows the last one.
DAY_LIST_JOINER = re.compile(r"\s*(?:和|跟|与|與|及|或者|或是|或|还有|還有|、|/|and|or)\s*", re.IGNORECASE)

YEAR_OFFSETS = {"去": -1, "今": 0, "明": 1, "后": 2, "後": 2}
_YEAR = r"(?:([去今明后後])年的?)?"
YEAR_MONTH_DAY = re.compile(rf"([去今明后後])年的?{NUMBER}月{NUMBER}[日号號]?")

# 三天后 · 3天以后 · 两个礼拜之后 · 一个月后; 再过三天 · 过三天 (过两天 alone is "in a day or two";
# 超过三天 is "more than three days", 不过 "but").
OFFSET_UNITS = {
    "天": "days",
    "周": "weeks",
    "週": "weeks",
    "星期": "weeks",
    "礼拜": "weeks",
    "禮拜": "weeks",
    "月": "months",
    "年": "years",
}
_OFFSET_UNIT = r"(?:个|個)?(天|周|週|星期|礼拜|禮拜|月|年)"
OFFSET_AFTER = re.compile(rf"{NUMBER}{_OFFSET_UNIT}(?:以后|以後|之后|之後|后|後)")
OFFSET_LATER = re.compile(rf"(?:再(?:过|過)|(?<![超经經越通不])(?:过|過)(?![两兩]天)){NUMBER}{_OFFSET_UNIT}")
ENGLISH_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_ENGLISH_COUNT = r"(\d{1,2}|a|an|one|two|three|four|five|six|seven|eight|nine|ten)"
ENGLISH_OFFSET = re.compile(
    rf"(?<![a-z])(?:in\s+{_ENGLISH_COUNT}\s+(day|week|month)s?|{_ENGLISH_COUNT}\s+(day|week|month)s?\s+"
    r"(?:later|from\s+now))(?![a-z])",
    re.IGNORECASE,
)

WEEKEND = re.compile(r"((?<!一)下下|下|上|这|這|本)?(?:个|個)?(?:周末|週末)")
ENGLISH_WEEKEND = re.compile(r"(?<![a-z])(?:(last|this|next)\s+)?weekend(?![a-z])", re.IGNORECASE)

# 月底 · 这个月初 · 下月末 · 12月中 (not 中旬, a stretch of ten days; not 三个月中, "within three months";
# not 腊月底, a lunar month).
MONTH_PARTS = {"底": "end", "末": "end", "初": "start", "中": "middle"}
MONTH_PART = re.compile(
    rf"{_YEAR}(?:{NUMBER}月|(?<![个個几幾岁歲正腊臘\d零〇一二两兩三四五六七八九十])((?<!一)下下|下|上|这|這|本)?(?:个|個)?月)"
    r"(底|末|初|中)(?!旬)"
)
YEAR_END = re.compile(r"(?:(\d{4})年|([去今明后後])年(?:的?年)?|(?<![\d去今明后後])年)(?:底|末|尾)")
ENGLISH_MONTH_END = re.compile(
    r"(?<![a-z])end\s+of\s+(?:the\s+|this\s+|(next)\s+)?month(?![a-z])", re.IGNORECASE
)

# 12/10 · 12.10 · 12.10号: month first; a number with a unit after it is an amount, not a date, and
# one after a day or a part of it is a time (明天下午3.30 · 12月5号 8.30).
_AMOUNT_UNIT = (
    r"\s*(?:元|块|塊|角|毛|折|倍|万|萬|千|百|亿|億|公斤|斤|克|小时|小時|个|個|分|秒|米|公里|岁|歲|寸|级|級"
    r"|美元|人|张|張|件|次|天|周|週|年|月|度|升|%|[A-Za-z])"
)
SLASH_DATE = re.compile(
    rf"(?<![\d./:A-Za-z])(?<![午上晨晚早号號日天]\s)(?<![午上晨晚早号號日天])"
    rf"(1[0-2]|0?[1-9])[/.]([12]\d|3[01]|0?[1-9])(?![\d./:])(?!{_AMOUNT_UNIT})[日号號]?"
)

# The lunar festivals and 清明 by the Gregorian day they fall on, year by year (MMDD for 春节 · 元宵 ·
# 端午 · 七夕 · 中秋 · 重阳, then 清明's day of April); 除夕 is the day before the next 春节.
# Checked against three lunar calendar libraries (lunardate, lunar-python, jionlp); extend before 2037.
LUNAR_CALENDAR = {
    2024: "0210 0224 0610 0810 0917 1011 4",
    2025: "0129 0212 0531 0829 1006 1029 4",
    2026: "0217 0303 0619 0819 0925 1018 5",
    2027: "0206 0220 0609 0808 0915 1008 5",
    2028: "0126 0209 0528 0826 1003 1026 4",
    2029: "0213 0227 0616 0816 0922 1016 4",
    2030: "0203 0217 0605 0805 0912 1005 5",
    2031: "0123 0206 0624 0824 1001 1024 5",
    2032: "0211 0225 0612 0812 0919 1012 4",
    2033: "0131 0214 0601 0801 0908 1001 4",
    2034: "0219 0305 0620 0820 0927 1020 5",
    2035: "0208 0222 0610 0810 0916 1009 5",
    2036: "0128 0211 0530 0828 1004 1027 4",
    2037: "0215 0301 0618 0817 0924 1017 4",
}
LUNAR_FESTIVALS = ("春节", "元宵", "端午", "七夕", "中秋", "重阳")
SOLAR_FESTIVALS = {
    "元旦": (1, 1),
    "情人节": (2, 14),
    "妇女节": (3, 8),
    "劳动节": (5, 1),
    "儿童节": (6, 1),
    "国庆": (10, 1),
    "平安夜": (12, 24),
    "圣诞": (12, 25),
}
# Every name a festival goes by, to the name above (or 清明 / 除夕).
FESTIVAL_NAMES = {
    "元旦": "元旦",
    "情人节": "情人节",
    "情人節": "情人节",
    "妇女节": "妇女节",
    "婦女節": "妇女节",
    "五一劳动节": "劳动节",
    "五一": "劳动节",
    "劳动节": "劳动节",
    "勞動節": "劳动节",
    "儿童节": "儿童节",
    "兒童節": "儿童节",
    "国庆": "国庆",
    "國慶": "国庆",
    "平安夜": "平安夜",
    "圣诞": "圣诞",
    "聖誕": "圣诞",
    "春节": "春节",
    "春節": "春节",
    "大年初一": "春节",
    "正月初一": "春节",
    "除夕": "除夕",
    "大年三十": "除夕",
    "年三十": "除夕",
    "元宵": "元宵",
    "正月十五": "元宵",
    "清明": "清明",
    "端午": "端午",
    "七夕": "七夕",
    "中秋": "中秋",
    "重阳": "重阳",
    "重陽": "重阳",
}
# 除夕前一天 is a day; 春节前 · 国庆期间 · 国庆假期 are a stretch of days, not one.
FESTIVAL_SHIFTS = {"前一天": -1, "前一日": -1, "后一天": 1, "後一天": 1, "后一日": 1, "後一日": 1}
FESTIVAL_STRETCHES = (
    "之前",
    "之后",
    "之後",
    "以前",
    "以后",
    "以後",
    "前后",
    "前後",
    "左右",
    "期间",
    "期間",
    "假期",
    "长假",
    "長假",
    "放假",
    "前",
    "后",
    "後",
)
FESTIVAL = re.compile(
    rf"(?<![零〇一二两兩三四五六七八九十\d]){_YEAR}("
    + "|".join(sorted(FESTIVAL_NAMES, key=len, reverse=True))
    + r")(?:节|節)?("
    + "|".join(sorted((*FESTIVAL_SHIFTS, *FESTIVAL_STRETCHES), key=len, reverse=True))
    + ")?"
)
ENGLISH_FESTIVAL_NAMES = {
    "christmas eve": "平安夜",
    "christmas day": "圣诞",
    "christmas": "圣诞",
    "new year's day": "元旦",
    "new years day": "元旦",
    "new year day": "元旦",
    "national day": "国庆",
    "labor day": "劳动节",
    "labour day": "劳动节",
    "chinese new year": "春节",
    "lunar new year": "春节",
    "spring festival": "春节",
    "lantern festival": "元宵",
    "dragon boat festival": "端午",
    "mid-autumn festival": "中秋",
    "mid-autumn": "中秋",
}
ENGLISH_FESTIVAL = re.compile(
    r"(?<![a-z])("
    + "|".join(re.escape(name) for name in sorted(ENGLISH_FESTIVAL_NAMES, key=len, reverse=True))
    + r")(?![a-z])",
    re.IGNORECASE,
)


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


def _first_to_come(
    today: date, candidates: Iterable[Tuple[int, Optional[int], Optional[int]]]
) -> Optional[date]:
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


def _year(marker: Optional[str], today: date) -> Optional[int]:
    return today.year + YEAR_OFFSETS[marker] if marker else None


def _year_month_day(match: Match[str], today: date) -> Optional[date]:
    return _calendar_day(
        today.year + YEAR_OFFSETS[match[1]], chinese_number(match[2]), chinese_number(match[3])
    )


def _later(today: date, count: Optional[int], unit: str) -> Optional[date]:
    if count is None:
        return None
    if unit == "days":
        return today + timedelta(days=count)
    if unit == "weeks":
        return today + timedelta(weeks=count)
    return add_months(today, count * (12 if unit == "years" else 1))


def _offset(match: Match[str], today: date) -> Optional[date]:
    return _later(today, chinese_number(match[1]), OFFSET_UNITS[match[2]])


def _english_offset(match: Match[str], today: date) -> Optional[date]:
    count, unit = (match[1], match[2]) if match[1] else (match[3], match[4])
    number = int(count) if count.isdigit() else ENGLISH_NUMBERS[count.lower()]
    return _later(today, number, unit.lower() + "s")


def _weekend_of(today: date, week: Optional[str]) -> date:
    """The Saturday of that week (this one without a week); this weekend said on a Sunday is today."""
    weeks = PERIOD_OFFSETS[week] if week else 0
    if weeks == 0 and today.weekday() == 6:
        return today
    return week_start(today) + timedelta(weeks=weeks, days=5)


def _weekend(match: Match[str], today: date) -> date:
    return _weekend_of(today, match[1])


def _english_weekend(match: Match[str], today: date) -> date:
    return _weekend_of(today, ENGLISH_WEEK_OFFSETS[match[1].lower()] if match[1] else None)


def _part_of_month(year: int, month: int, part: str) -> date:
    day = {"start": 1, "middle": 15}.get(part) or calendar.monthrange(year, month)[1]
    return date(year, month, day)


def _month_part(match: Match[str], today: date) -> Optional[date]:
    """月底 · 这个月初 · 下月末 · 12月中 · 明年1月初."""
    year, number, period, part = _year(match[1], today), match[2], match[3], MONTH_PARTS[match[4]]
    if number is not None:
        month = chinese_number(number)
        if month is None or not 1 <= month <= 12:
            return None
        if year is not None:
            return _part_of_month(year, month, part)
        return next(
            day
            for day in (_part_of_month(today.year + years, month, part) for years in (0, 1))
            if not is_past(day, today)
        )
    if period is not None:
        return _part_of_month(*shift_month(today.year, today.month, PERIOD_OFFSETS[period]), part)
    # 月底 is this month's; 月初 and 月中 the next to come.
    this_month = _part_of_month(today.year, today.month, part)
    return (
        this_month
        if not is_past(this_month, today)
        else _part_of_month(*shift_month(today.year, today.month, 1), part)
    )


def _year_end(match: Match[str], today: date) -> date:
    if match[1]:
        return date(int(match[1]), 12, 31)
    return date(today.year + (YEAR_OFFSETS[match[2]] if match[2] else 0), 12, 31)


def _english_month_end(match: Match[str], today: date) -> date:
    return _part_of_month(*shift_month(today.year, today.month, 1 if match[1] else 0), "end")


def _slash_date(match: Match[str], today: date) -> Optional[date]:
    return _coming_month_day(today, int(match[1]), int(match[2]))


def festival_day(name: str, year: int) -> Optional[date]:
    """The day of a festival in a year (除夕: the one that ends that lunar year), or None past the table."""
    if name in SOLAR_FESTIVALS:
        return date(year, *SOLAR_FESTIVALS[name])
    if name == "除夕":
        new_year = festival_day("春节", year + 1)
        return new_year - timedelta(days=1) if new_year else None
    days = LUNAR_CALENDAR.get(year, "").split()
    if not days:
        return None
    if name == "清明":
        return date(year, 4, int(days[-1]))
    month_day = days[LUNAR_FESTIVALS.index(name)]
    return date(year, int(month_day[:2]), int(month_day[2:]))


def _coming_festival(name: str, today: date, year: Optional[int]) -> Optional[date]:
    if year is not None:
        return festival_day(name, year)
    # 除夕 of last year's lunar calendar may still be ahead in January.
    days = (festival_day(name, today.year + years) for years in (-1, 0, 1))
    return next((day for day in days if day is not None and not is_past(day, today)), None)


def _festival(match: Match[str], today: date) -> Optional[date]:
    day = _coming_festival(FESTIVAL_NAMES[match[2]], today, _year(match[1], today))
    if day is None or match[3] is None:
        return day
    shift = FESTIVAL_SHIFTS.get(match[3])
    return day + timedelta(days=shift) if shift is not None else None


def _english_festival(match: Match[str], today: date) -> Optional[date]:
    return _coming_festival(ENGLISH_FESTIVAL_NAMES[match[1].lower()], today, None)


# Most specific form first: 2026年12月5日 before 12月5日 before 5日, and an English form next to its
# Chinese one, so a mixed message (明天 or Friday) resolves as its Chinese form (明天或周五) does.
PARSERS: List[Tuple[Pattern[str], Callable[[Match[str], date], Optional[date]]]] = [
    (FULL_DATE, _full_date),
    (YEAR_MONTH_DAY, _year_month_day),
    (MONTH_DAY, _month_day),
    (ENGLISH_MONTH_DAY, _english_month_day),
    (SLASH_DATE, _slash_date),
    (FESTIVAL, _festival),  # before 月初: 正月初一 is 春节
    (ENGLISH_FESTIVAL, _english_festival),
    (RELATIVE_MONTH_DAY, _relative_month_day),
    (MONTH_PART, _month_part),
    (YEAR_END, _year_end),
    (ENGLISH_MONTH_END, _english_month_end),
    (OFFSET_AFTER, _offset),
    (OFFSET_LATER, _offset),
    (ENGLISH_OFFSET, _english_offset),
    (WEEKEND, _weekend),
    (ENGLISH_WEEKEND, _english_weekend),
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
    ruled_out = [bool(RULED_OUT.match(text, where.end())) for where, _ in named]
    # 明天和后天都不行: a day joined to the next one by 和 / 、 / or… shares its refusal.
    for index in range(len(named) - 2, -1, -1):
        between = text[named[index][0].end() : named[index + 1][0].start()]
        if ruled_out[index + 1] and DAY_LIST_JOINER.fullmatch(between):
            ruled_out[index] = True
    return [(where.start(), day, out) for (where, day), out in zip(named, ruled_out, strict=True)]


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
