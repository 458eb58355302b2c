from datetime import date

import pytest

from business.services.dates import (
    add_months,
    chinese_number,
    festival_day,
    is_past,
    names_a_day,
    only_ruled_out_days,
    resolve_date,
    resolve_new_date,
    week_start,
)

SUNDAY = date(2026, 11, 22)  # the demo's today
WEDNESDAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("今天", date(2026, 11, 22)),
        ("明天下午", date(2026, 11, 23)),
        ("后天", date(2026, 11, 24)),
        ("後天", date(2026, 11, 24)),  # traditional
        ("大后天", date(2026, 11, 25)),
        ("大後天", date(2026, 11, 25)),
        ("昨天", date(2026, 11, 21)),
        # Monday-based weeks: on a Sunday the next week starts tomorrow.
        ("下周三", date(2026, 11, 25)),
        ("下星期三", date(2026, 11, 25)),
        ("下礼拜三", date(2026, 11, 25)),
        ("下禮拜三", date(2026, 11, 25)),
        ("下个星期一", date(2026, 11, 23)),
        ("下下周一", date(2026, 11, 30)),
        ("帮忙退一下下周三的票", date(2026, 11, 25)),  # 一下 + 下周三, not 下下周三
        ("周三", date(2026, 11, 25)),
        ("星期三", date(2026, 11, 25)),
        ("周日", date(2026, 11, 29)),  # today is Sunday: the coming one, today excluded
        ("星期天", date(2026, 11, 29)),
        ("这周五", date(2026, 11, 20)),  # this week's Friday, already past
        ("本周五", date(2026, 11, 20)),
        ("12月5号", date(2026, 12, 5)),
        ("12月5日", date(2026, 12, 5)),
        ("十二月五号", date(2026, 12, 5)),
        ("改到12月5號", date(2026, 12, 5)),
        ("11月22号", date(2026, 11, 22)),  # today is not past
        ("11月1号", date(2027, 11, 1)),  # already past this year
        ("三月一日", date(2027, 3, 1)),
        ("改到下个月3号", date(2026, 12, 3)),
        ("下月十号", date(2026, 12, 10)),
        ("这个月20号", date(2026, 11, 20)),  # this month's, already past
        ("下下个月1号", date(2027, 1, 1)),
        ("退一下下个月3号的票", date(2026, 12, 3)),  # 一下 + 下个月
        ("5号", date(2026, 12, 5)),  # passed this month
        ("22号", date(2026, 11, 22)),
        ("二十八号", date(2026, 11, 28)),
        ("31号", date(2026, 12, 31)),  # November has no 31st
        ("2026-12-05", date(2026, 12, 5)),
        ("2026/12/05", date(2026, 12, 5)),
        ("2026年12月5日", date(2026, 12, 5)),
        ("2027.1.3", date(2027, 1, 3)),
        ("２０２６－１２－０５", date(2026, 12, 5)),  # full-width
        ("１２月５号", date(2026, 12, 5)),
        ("2026-11-01", date(2026, 11, 1)),  # explicit year: kept even if past
        ("12.5", date(2026, 12, 5)),  # month first
        ("12/5", date(2026, 12, 5)),
        ("改到３天后", date(2026, 11, 25)),  # full-width digits
        ("过三天", date(2026, 11, 25)),
        # English in mixed messages, with the same choices.
        ("改到tomorrow", date(2026, 11, 23)),
        ("day after tomorrow", date(2026, 11, 24)),
        ("Yesterday", date(2026, 11, 21)),
        ("Friday", date(2026, 11, 27)),
        ("sunday", date(2026, 11, 29)),  # today excluded, as 周日
        ("next Monday", date(2026, 11, 23)),  # as 下周一
        ("this Friday", date(2026, 11, 27)),  # the coming one, as Friday alone
        ("last Friday", date(2026, 11, 13)),  # as 上周五
        ("move my flight to Dec 10 pls", date(2026, 12, 10)),
        ("明天走不了 change to Friday", date(2026, 11, 27)),  # the weekday, as 明天走不了，改到周五
        ("December 5th", date(2026, 12, 5)),
        ("5th of Dec.", date(2026, 12, 5)),
        ("Nov 1", date(2027, 11, 1)),  # already past this year
    ],
)
def test_date_forms_resolve_against_a_sunday(text, expected):
    assert resolve_date(text, SUNDAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "你好",
        "我要改签",
        "12.5元",
        "12/5折",
        "25/12",
        "1.5.3",
        "下周",
        "13月5号",
        "2月30号",
        "2026-02-30",
        "MU5101",
        "XH2611010001号",
        "market 5",
        "3:30 Dec",
        "Dec 32",
        "mayday",
        "see you Sun",
        "这个月31号",
        "超过三天",
        "不过三天",
        "三个月中",
        "几天后",
    ],
)
def test_text_without_a_clear_day_resolves_to_none(text):
    assert resolve_date(text, SUNDAY) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("周三", date(2026, 12, 2)),  # said on a Wednesday: next week's, not today
        ("周五", date(2026, 11, 27)),
        ("周一", date(2026, 11, 30)),
        ("这周三", date(2026, 11, 25)),
        ("下周三", date(2026, 12, 2)),
        ("上周三", date(2026, 11, 18)),
    ],
)
def test_weekdays_said_midweek(text, expected):
    assert resolve_date(text, WEDNESDAY) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("明天不行，改到5号", date(2026, 12, 5)),
        ("周五不行，改到明天", date(2026, 11, 23)),
        ("把12月3号的航班改到明天", date(2026, 11, 23)),
        ("改到5号，原来是明天的", date(2026, 12, 5)),  # the first day after 改到, not the last named
        ("明天不行，5号吧", date(2026, 12, 5)),  # no 改到: the last one named
        ("5号吧，明天不行", date(2026, 12, 5)),  # …that is not ruled out
        ("周五没空，周六也有事，下周三可以", date(2026, 11, 25)),
        ("Friday doesn't work, Monday then", date(2026, 11, 23)),
        ("明天不行吗", date(2026, 11, 23)),  # a question, not a refusal
        ("明天不行", None),
        ("能推迟到下周三吗", date(2026, 11, 25)),
        ("把2026年12月3日的改到2026年12月5日", date(2026, 12, 5)),  # 12月5日 inside counts once
        ("move my Dec 3 flight to Friday", date(2026, 11, 27)),
        ("改到下个月3号", date(2026, 12, 3)),
        ("明天不行，改到2月30号", None),  # an impossible new day, not the other one
        ("我要改签", None),
    ],
)
def test_the_new_day_of_a_change_request(text, expected):
    assert resolve_new_date(text, SUNDAY) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("明天不行", [date(2026, 11, 23)]),
        ("周五没空，周六也有事", [date(2026, 11, 27), date(2026, 11, 28)]),
        ("明天不行，改到5号", []),
        ("5号吧，明天不行", []),
        ("明天", []),
        ("我要改签", []),
    ],
)
def test_a_message_that_only_rules_days_out(text, expected):
    assert only_ruled_out_days(text, SUNDAY) == expected


def test_a_day_is_named_even_when_impossible():
    assert names_a_day("改到2月30号") and names_a_day("next Friday") and not names_a_day("我要改签")


def test_the_most_specific_form_still_names_the_day_of_a_plain_message():
    assert resolve_date("把2026年12月3日的改到2026年12月5日", SUNDAY) == date(2026, 12, 3)
    assert resolve_date("周五不行，改到明天", SUNDAY) == date(2026, 11, 27)


def test_a_bare_day_and_month_roll_over_the_year_end():
    new_years_eve = date(2026, 12, 31)
    assert resolve_date("3号", new_years_eve) == date(2027, 1, 3)
    assert resolve_date("12月30号", new_years_eve) == date(2027, 12, 30)
    assert resolve_date("周一", new_years_eve) == date(2027, 1, 4)


def test_is_past_counts_today_as_not_past():
    assert is_past(date(2026, 11, 21), SUNDAY)
    assert not is_past(SUNDAY, SUNDAY)
    assert not is_past(date(2026, 11, 23), SUNDAY)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("5", 5),
        ("五", 5),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十一", 21),
        ("三十一", 31),
        ("两", 2),
        ("十十", None),
        ("廿", None),
    ],
)
def test_chinese_numbers(text, expected):
    assert chinese_number(text) == expected


def test_calendar_helpers():
    assert week_start(SUNDAY) == date(2026, 11, 16)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 22), 2) == date(2027, 1, 22)


@pytest.mark.parametrize(
    "name, year, expected",
    [
        ("春节", 2026, date(2026, 2, 17)),
        ("春节", 2027, date(2027, 2, 6)),
        ("除夕", 2026, date(2027, 2, 5)),  # the eve that ends lunar year 2026
        ("元宵", 2027, date(2027, 2, 20)),
        ("清明", 2026, date(2026, 4, 5)),
        ("清明", 2028, date(2028, 4, 4)),
        ("端午", 2026, date(2026, 6, 19)),
        ("七夕", 2026, date(2026, 8, 19)),
        ("中秋", 2026, date(2026, 9, 25)),
        ("重阳", 2026, date(2026, 10, 18)),
        ("国庆", 2026, date(2026, 10, 1)),
        ("除夕", 2037, None),  # past the table
        ("中秋", 2040, None),
    ],
)
def test_festival_days(name, year, expected):
    assert festival_day(name, year) == expected


def test_the_lunar_table_runs_ten_years_ahead_of_the_demo():
    assert all(festival_day("中秋", year) for year in range(2026, 2037))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("明天和后天都不行", [date(2026, 11, 23), date(2026, 11, 24)]),
        ("明天、后天都没空", [date(2026, 11, 23), date(2026, 11, 24)]),
        ("明天可以，后天不行", []),  # 可以 stands between: only 后天 is ruled out
    ],
)
def test_one_refusal_after_a_list_of_days_rules_them_all_out(text, expected):
    assert only_ruled_out_days(text, SUNDAY) == expected
