"""Live guidance: the customer's anger or a regulator, and what an agent's draft must not carry."""

from __future__ import annotations

import pytest

from assist.guidance import Lexicon, id_card_valid, luhn_valid, personal_data

LEXICON = Lexicon.load()


@pytest.mark.parametrize(
    "draft, kinds",
    [
        ("您的手机号是13800138001对吧", ["手机号"]),  # digits touching Chinese characters
        ("已登记，联系电话+86 138-0013-8001", ["手机号"]),
        ("身份证11010519491231002X已核对", ["身份证号"]),
        ("卡号6222020200112233446，请核对", ["银行卡号"]),
        ("卡号 6222 0202 0011 2233 446 已冻结", ["银行卡号"]),
        ("手机13800138001，身份证11010519491231002X", ["身份证号", "手机号"]),
        # Not personal data: masked forms, order numbers, amounts, a card number failing Luhn, an ID
        # number with a wrong check digit.
        ("尾号8001的手机，订单XH2611010001，退款128.50元", []),
        ("138****8001，卡号尾号3445", []),
        ("卡号6222020200112233445", []),
        ("身份证110105194912310021", []),
    ],
)
def test_full_personal_data_in_a_draft_is_found_by_shape_and_checksum(draft, kinds):
    assert personal_data(draft) == kinds


def test_the_checksums_themselves():
    assert id_card_valid("11010519491231002X") and not id_card_valid("110105194912310021")
    assert luhn_valid("6222020200112233446") and not luhn_valid("6222020200112233445")


@pytest.mark.parametrize(
    "message, kinds",
    [
        ("你们这什么破服务，气死我了", ["angry"]),
        ("再不处理我就打12315投诉你们", ["regulator"]),
        ("我要去消協投訴", ["regulator"]),  # traditional characters fold to simplified
        ("太过分了，我要找律师起诉", ["regulator", "angry"]),
        ("好的谢谢，麻烦你了", []),
    ],
)
def test_anger_and_regulators_in_the_customers_message_raise_an_alert(message, kinds):
    assert [alert.kind for alert in LEXICON.customer_alerts(message)] == kinds


def test_a_draft_promising_compensation_or_giving_a_phone_number_is_flagged_before_sending():
    warnings = LEXICON.draft_warnings("给您补偿50元，有问题打我手机13800138001")
    assert [w.kind for w in warnings] == ["promise", "personal_data"]
    assert "补偿" in warnings[0].label and "手机号" in warnings[1].label
    assert LEXICON.draft_warnings("已为您催促快递，预计明天送达") == []
