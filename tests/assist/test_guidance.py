"""Live guidance: the customer's anger or a regulator, and what an agent's draft must not carry
(the personal-data detectors themselves: tests/unit/test_privacy.py)."""

from __future__ import annotations

import pytest

from assist.guidance import Lexicon

LEXICON = Lexicon.load()


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
