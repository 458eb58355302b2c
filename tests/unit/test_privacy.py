"""Personal data in free text: found by maintained validators, masked, and ordinary numbers left alone."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.cn import ric

from business.privacy import find, kinds, mask, masked_events

CHINESE = st.text(
    alphabet=st.sampled_from("我的手机号是身份证银行卡请帮查一下订单退款到哪了，。！？ 好的谢谢"), max_size=12
)
# Region codes the validator knows (Beijing Chaoyang, Shanghai Huangpu, Guangzhou Tianhe, Hangzhou Xihu).
REGIONS = st.sampled_from(["110105", "310101", "440106", "330106"])


@st.composite
def mobiles(draw) -> str:
    prefix = draw(st.sampled_from(["130", "138", "139", "150", "158", "177", "186", "199"]))
    return prefix + draw(st.text(alphabet="0123456789", min_size=8, max_size=8))


@st.composite
def id_cards(draw) -> str:
    birth = draw(
        st.dates(
            min_value=__import__("datetime").date(1940, 1, 1),
            max_value=__import__("datetime").date(2008, 12, 31),
        )
    )
    body = (
        draw(REGIONS)
        + birth.strftime("%Y%m%d")
        + draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    )
    return body + ric.calc_check_digit(body + "0")  # it reads all but the last character


@st.composite
def bank_cards(draw) -> str:
    body = draw(st.sampled_from(["622202", "621700", "436742", "625967"])) + draw(
        st.text(alphabet="0123456789", min_size=9, max_size=12)
    )
    return body + luhn.calc_check_digit(body)


@given(before=CHINESE, after=CHINESE, number=st.one_of(mobiles(), id_cards(), bank_cards()))
@settings(max_examples=300, deadline=None)
def test_a_full_number_in_chinese_text_never_survives_masking(before, after, number):
    masked = mask(before + number + after)
    assert number not in masked and number[:-4] not in masked  # at most the tail a mask keeps


ORDINARY = st.one_of(
    st.from_regex(r"XH26\d{8}", fullmatch=True),  # order ids
    st.from_regex(r"TK2026\d{7}", fullmatch=True),  # ticket ids
    st.from_regex(r"(MU|CA|CZ)\d{4}", fullmatch=True),  # flight numbers
    st.from_regex(r"[1-9]\d{0,4}\.\d{2}元", fullmatch=True),  # amounts
    st.from_regex(r"2026-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])", fullmatch=True),  # dates
    st.from_regex(r"SF\d{13}", fullmatch=True),  # tracking numbers
)


@given(before=CHINESE, after=CHINESE, number=ORDINARY)
@settings(max_examples=300, deadline=None)
def test_ordinary_numbers_are_left_alone(before, after, number):
    text = before + number + after
    assert mask(text) == text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("您的手机号是13800138001对吧", "您的手机号是138****8001对吧"),  # digits touching Chinese
        ("打+86 138-0013-8001找我", "打138****8001找我"),
        ("座机010-62345678", "座机010****5678"),
        ("身份证11010519491231002X已核对", "身份证110**************X已核对"),
        ("卡号6222020200112233446，请核对", "卡号***************3446，请核对"),
        ("卡号 6222 0202 0011 2233 446 已冻结", "卡号 ***************3446 已冻结"),
        ("邮箱zhang.wei@example.com", "邮箱z***@example.com"),
        ("寄到北京市朝阳区建国路88号SOHO现代城5号楼1203室吧", "寄到北京市朝阳区****吧"),
        ("手机１３８００１３８００１", "手机138****8001"),  # full-width digits
        # Characters that read as digits, @ or 号 only once folded:
        ("手机①③⑧⓪⓪①③⑧⓪⓪①", "手机138****8001"),
        ("手机𝟏𝟑𝟖𝟎𝟎𝟏𝟑𝟖𝟎𝟎𝟏", "手机138****8001"),
        ("邮箱zhang.wei＠example.com", "邮箱z***@example.com"),
        ("寄到北京市朝陽區建國路八十八號", "寄到北京市朝陽區****"),
    ],
)
def test_each_kind_is_masked_to_what_a_person_may_see(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "订单XH2611010001的退款128.50元",
        "138****8001，卡号尾号3445",  # already masked
        "卡号6222020200112233445",  # fails Luhn
        "身份证110105194912310021",  # wrong check digit
        "航班MU5101，运单号SF1402837465921，工单TK20261122001",
        "12月5号下午3点，2026-12-05",
    ],
)
def test_what_is_not_personal_data_is_not_found(text):
    assert find(text) == []


def test_the_kinds_for_the_agent_in_the_order_they_appear():
    assert kinds("手机13800138001，身份证11010519491231002X，再发一遍13900139002") == ["手机号", "身份证号"]


def test_events_rest_masked_and_the_id_tail_answer_is_masked_by_what_was_asked():
    events = [
        {"event": "slot", "name": "requested_slot", "value": "id_last4"},
        {"event": "user", "text": "后四位是351X", "parse_data": {"text": "后四位是351X", "entities": []}},
        {"event": "slot", "name": "id_last4", "value": "351X"},
        {"event": "slot", "name": "requested_slot", "value": None},
        {
            "event": "user",
            "text": "订单XH2611010001，我手机13800138001",
            "parse_data": {"entities": [{"entity": "phone_number", "value": "13800138001"}]},
        },
        {"event": "slot", "name": "phone_number", "value": "13800138001"},
    ]
    resting = masked_events(events)
    assert resting[1]["text"] == resting[1]["parse_data"]["text"] == "后四位是****"
    assert resting[2]["value"] == "****"
    assert resting[4]["text"] == "订单XH2611010001，我手机138****8001"  # the order id stays
    assert resting[4]["parse_data"]["entities"][0]["value"] == "138****8001"
    assert resting[5]["value"] == "138****8001"
    # Events read on their own still know what was asked before them.
    assert masked_events(events[1:3], asked="id_last4")[0]["text"] == "后四位是****"
    assert events[1]["text"] == "后四位是351X"  # the conversation in memory is not touched


def test_a_text_repeated_in_a_turn_is_masked_by_what_was_asked_at_each_place():
    events = [
        {"event": "bot", "text": "尾号 351X 的订单已发货"},
        {"event": "bot", "text": "351X"},
        {"event": "slot", "name": "requested_slot", "value": "id_last4"},
        {"event": "user", "text": "351X", "parse_data": {"text": "351X"}},
    ]
    resting = masked_events(events)
    assert resting[1]["text"] == "351X"  # said by the bot, not an answer to the ID question
    assert resting[3]["text"] == resting[3]["parse_data"]["text"] == "****"


def test_ids_are_not_handed_to_the_costly_phone_matcher(monkeypatch):
    import business.privacy as privacy

    calls = []
    matcher = privacy.phonenumbers.PhoneNumberMatcher
    monkeypatch.setattr(
        privacy.phonenumbers, "PhoneNumberMatcher", lambda *args: calls.append(args) or matcher(*args)
    )
    assert mask("订单XH2611010001和TK2611010002的运单号SF1402837465921") == (
        "订单XH2611010001和TK2611010002的运单号SF1402837465921"
    )
    assert calls == []
    assert mask("订单XH2611010001，手机+86 138 0013 8001") == "订单XH2611010001，手机138****8001"
    assert len(calls) == 1
