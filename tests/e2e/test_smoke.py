"""Smoke test of the running assistant: Rasa + action server + trained model."""

import pytest

from tests.e2e.conversation import Conversation

pytestmark = pytest.mark.e2e


def test_greeting_gets_a_text_reply(chat):
    sender = chat.new_sender()
    replies = chat.say(sender, "你好")
    texts = [m.get("text", "") for m in replies]
    assert any(t.strip() for t in texts), f"no text reply to 你好: {replies!r}"


def test_request_human_intent_is_recognised(chat):
    parsed = chat.parse("我要转人工")
    assert parsed["intent"]["name"] == "request_human", parsed["intent"]


@pytest.mark.parametrize("junk", ["😀😀", "？？？", "🙂🎉", "(*^▽^*)"])
def test_an_emoji_or_punctuation_only_message_is_asked_again_not_an_error(chat, junk):
    """Emoji leave nothing to classify (that used to crash the parse); punctuation alone is too unclear to act on."""
    assert chat.parse(junk)["intent"]["name"] == "nlu_fallback"
    texts = "\n".join(m.get("text", "") for m in chat.say(chat.new_sender(), junk))
    assert "没太理解" in texts, texts


def test_half_an_emoji_is_read_as_a_space_not_an_error(chat):
    """A client that cuts a message inside an emoji sends a lone surrogate (JSON "\\ud83d"): the parse
    and the knowledge base used to fail on it."""
    assert chat.parse("我的退款\ud83d到哪了")["intent"]["name"] == "refund_status"
    texts = "\n".join(m.get("text", "") for m in chat.say(chat.new_sender(), "退货运费\ud83d谁出"))
    assert "运费" in texts, texts


@pytest.mark.parametrize(
    "text, intent", [("你好(*^▽^*)", "greet"), ("谢谢^_^", "thanks"), ("嗨～(｡･ω･｡)ﾉ", "greet")]
)
def test_a_kaomoji_does_not_change_what_the_customer_says(chat, text, intent):
    assert chat.parse(text)["intent"]["name"] == intent


@pytest.mark.parametrize(
    "text, intent",
    [
        ("🙏🙏", "thanks"),  # folded hands thank
        ("👋", "greet"),
        ("小星最近忙不忙呀", "greet"),  # asking after the bot opens a chat
        ("掌柜好", "greet"),
        ("你好，有个事想咨询下", "greet"),  # the question comes next
        ("暂时没有别的问题了", "goodbye"),  # the answer to 还有什么可以帮您
        ("很高兴又见到你了", "greet"),  # nice to see you
        ("小星，你近来还好吗", "greet"),  # how are you
    ],
)
def test_small_talk_as_customers_type_it(chat, text, intent):
    assert chat.parse(text)["intent"]["name"] == intent


@pytest.mark.parametrize(
    "text", ["后天上海飞成都的机票多少钱", "帮我查查周五杭州到北京的航班", "下周三深圳去重庆有直飞吗"]
)
def test_a_search_for_new_flights_is_not_taken_for_the_customers_booking(chat, text):
    """星河旅行 serves flights it already booked; a search names cities and dates just as an answer to 改到哪天 does."""
    assert chat.parse(text)["intent"]["name"] == "out_of_scope"


@pytest.mark.parametrize("text", ["淘宝买的衣服想退款", "天猫下的单能帮我退款吗", "高铁票改签要收钱吗"])
def test_another_companys_business_is_declined_not_started(chat, text):
    """We cannot find another shop's order or change a train ticket: asking for an order number
    or a booking would lead nowhere, so the customer hears at once that we cannot help."""
    texts = "\n".join(m.get("text", "") for m in chat.say(chat.new_sender(), text))
    assert "帮不上忙" in texts, texts


@pytest.mark.parametrize(
    "lead_in",
    [
        [("好的", "还有什么可以帮您")],  # a bare yes outside a question
        [
            ("我要退货", "手机号"),
            ("算了", "停止当前操作，没有做任何修改。还有什么可以帮您"),
        ],  # a stopped request
    ],
)
@pytest.mark.parametrize("no_more", ["没有了", "不用了"])
def test_no_to_anything_else_ends_the_conversation_instead_of_asking_again(chat, lead_in, no_more):
    talk = Conversation(chat)
    for message, reply in lead_in:
        assert reply in talk.say(message)
    reply = talk.say(no_more)
    assert "再见" in reply and "还有什么可以帮您" not in reply
