"""How Rasa responses become widget messages, and the limits' arithmetic."""

from __future__ import annotations

import pytest

from connectors.webchat.limits import RateLimiter, message_problem
from connectors.webchat.messages import bot_message, user_message
from connectors.webchat.notices import Notice
from connectors.webchat.tokens import TokenRejected, VisitorTokens


def test_a_response_with_buttons_and_an_image_is_one_message():
    shown = bot_message(
        {
            "text": "请选择：",
            "buttons": [{"title": "查订单物流", "payload": "/order_status"}],
            "image": "https://img.example.cn/a.png",
            "utter_action": "utter_greet",
            "recipient_id": "x",
        }
    )
    assert shown["role"] == "bot" and shown["text"] == "请选择："
    assert shown["buttons"] == [{"title": "查订单物流", "payload": "/order_status"}]
    assert shown["image"] == "https://img.example.cn/a.png"
    assert "utter_action" not in shown and "recipient_id" not in shown


def test_a_custom_payload_can_carry_cards_links_and_quick_replies():
    shown = bot_message(
        {
            "custom": {
                "text": "为您推荐：",
                "cards": [
                    {
                        "title": "无线耳机",
                        "subtitle": "¥299",
                        "image_url": "https://img.example.cn/e.png",
                        "buttons": [{"title": "查看", "url": "https://shop.example.cn/e"}],
                    }
                ],
                "links": [{"title": "退货政策", "url": "https://help.example.cn/returns"}],
                "quick_replies": [{"title": "还有别的吗", "payload": "/more"}],
                "action": "transfer",  # Rasa's socketio channel crashes on keys like this one
            }
        }
    )
    assert shown["elements"] == [
        {
            "title": "无线耳机",
            "subtitle": "¥299",
            "image_url": "https://img.example.cn/e.png",
            "buttons": [{"title": "查看", "url": "https://shop.example.cn/e"}],
        }
    ]
    assert shown["links"] == [{"title": "退货政策", "url": "https://help.example.cn/returns"}]
    assert shown["quick_replies"] == [{"title": "还有别的吗", "payload": "/more"}]
    assert shown["custom"] == {"action": "transfer"}


def test_rasas_single_element_shape_and_image_attachments_are_understood():
    shown = bot_message(
        {
            "elements": {"title": "订单 XH2611010001"},
            "attachment": {"type": "image", "payload": {"src": "https://img.example.cn/b.png"}},
        }
    )
    assert shown["elements"] == [{"title": "订单 XH2611010001"}]
    assert shown["image"] == "https://img.example.cn/b.png"


def test_script_urls_never_reach_the_page():
    shown = bot_message(
        {
            "text": "看这里",
            "image": "javascript:alert(1)",
            "buttons": [{"title": "点我", "url": "javascript:alert(1)", "payload": "/x"}],
            "custom": {"links": [{"title": "坏链接", "url": "JavaScript:alert(1)"}]},
        }
    )
    assert "image" not in shown and "links" not in shown
    assert shown["buttons"] == [{"title": "点我", "payload": "/x"}]


def test_an_empty_response_shows_nothing():
    assert bot_message({"text": "", "buttons": [], "utter_action": "utter_x"}) is None


def test_a_button_click_shows_its_title_not_the_payload():
    assert user_message("/order_status", display="查订单物流")["text"] == "查订单物流"
    assert user_message("我要退货", display=None)["text"] == "我要退货"


def test_the_rate_limiter_allows_a_burst_then_refills_per_conversation():
    now = [0.0]
    limiter = RateLimiter(per_second=1.0, burst=2, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]
    assert limiter.allow("b")  # another conversation has its own allowance
    now[0] = 1.0
    assert limiter.allow("a") and not limiter.allow("a")


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", Notice.EMPTY),
        ("  ", Notice.EMPTY),
        (None, Notice.EMPTY),
        ("好" * 11, Notice.TOO_LONG),
        ("好" * 10, None),
    ],
)
def test_message_size_rule(text, problem):
    assert message_problem(text, max_chars=10) is problem


def test_a_tampered_token_is_rejected():
    tokens = VisitorTokens("visitor-secret-0123456789abcdef0123", 3600, None)
    token = tokens.issue("v1")
    assert tokens.verify(token).conversation_id == "web:v1"
    header, payload, signature = token.split(".")
    with pytest.raises(TokenRejected) as rejected:
        tokens.verify(f"{header}.{payload}.{signature[:-2]}xx")
    assert rejected.value.code == "token_invalid"
    with pytest.raises(TokenRejected) as disabled:
        tokens.customer_from_site(token)
    assert disabled.value.code == "login_disabled"
