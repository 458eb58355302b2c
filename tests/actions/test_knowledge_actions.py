from sqlalchemy import select

from actions.knowledge import ActionAnswerFaq
from business.store.models import FaqQuestion
from tests.actions.conftest import make_tracker


def ask(text, entities=(), channel=None):
    tracker = make_tracker(text, intent="ask_faq", entities=entities)
    if channel:
        tracker.latest_message["input_channel"] = channel
        tracker.events[-1]["input_channel"] = channel
    return tracker


def test_a_policy_question_is_answered_from_the_kb_and_logged(run, session):
    result = run(ActionAnswerFaq(), ask("买多少钱可以包邮啊"))
    assert "99" in result.message("utter_faq_answer")["answer"]
    logged = session.execute(select(FaqQuestion)).scalar_one()
    assert (logged.question, logged.outcome, logged.channel) == ("买多少钱可以包邮啊", "answered", "web")


def test_the_phone_gets_the_one_sentence_form(run):
    web = run(ActionAnswerFaq(), ask("改签手续费怎么收")).message("utter_faq_answer")["answer"]
    phone = run(ActionAnswerFaq(), ask("改签手续费怎么收", channel="phone")).message("utter_faq_answer")[
        "answer"
    ]
    assert "10%" in phone and len(phone) < len(web)


def test_an_unknown_question_is_not_guessed(run, session):
    result = run(ActionAnswerFaq(), ask("你们公司股票明天会涨吗"))
    assert result.responses == ["utter_faq_not_sure"]
    assert session.execute(select(FaqQuestion.outcome)).scalar_one() == "not_sure"


def test_a_chosen_document_is_answered_directly(run):
    entities = [{"entity": "faq_document", "value": "shipping-fee"}]
    result = run(ActionAnswerFaq(), ask('/ask_faq{"faq_document": "shipping-fee"}', entities=entities))
    assert "8元" in result.message("utter_faq_answer")["answer"]


def test_a_question_with_a_condition_gets_the_part_that_applies(run):
    answer = run(ActionAnswerFaq(), ask("还有3天起飞，改签要多少手续费")).message("utter_faq_answer")[
        "answer"
    ]
    assert "10%" in answer
    assert "20%" not in answer and "免费改签" not in answer


def test_a_city_gets_its_own_shipping_line(run):
    answer = run(ActionAnswerFaq(), ask("寄到乌鲁木齐运费多少钱")).message("utter_faq_answer")["answer"]
    assert "15元" in answer and "99元" not in answer


def test_close_documents_are_offered_as_buttons(run, monkeypatch):

    from actions import knowledge

    # A decision that cannot answer outright but sees two close documents asks which one.
    monkeypatch.setattr(
        knowledge.KNOWLEDGE_BASE,
        "calibration",
        knowledge.KNOWLEDGE_BASE.calibration.with_floors(
            answer_floor=1.01, clarify_floor=0.0, close_margin=10.0
        ),
    )
    result = run(ActionAnswerFaq(), ask("密码忘了"))
    assert result.responses == ["utter_faq_clarify"]
    buttons = result.message("utter_faq_clarify")["buttons"]
    assert len(buttons) >= 2 and all(b["payload"].startswith('/ask_faq{"faq_document": "') for b in buttons)
