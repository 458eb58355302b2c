"""Every knowledge-base fact, asked in natural Chinese over REST, comes back with its numbers."""

import pytest
from sqlalchemy import select

from business.store.models import Refund
from tests.e2e.conversation import Conversation, conversation_to_verify

pytestmark = pytest.mark.e2e

# One customer question per kb_fact of the demo data, and the document's own wording of the
# fact the answer must state. Each phrase is specific to its document: none is in the greeting,
# the out-of-scope reply, the not-sure reply or the "I am a bot" reply (tested below), so a
# reply that merely mentions 取消, 人工 or a digit cannot pass.
QUESTIONS = [
    ("return_window", "收到货不喜欢能退吗，几天内可以退", ["7天内支持无理由退货"]),
    ("quality_return", "用了十来天发现质量有问题还能退换吗", ["15天内出现质量问题"]),
    ("refund_timeline", "退款一般多久能到账", ["支付宝1-3个工作日到账", "银行卡3-7个工作日到账"]),
    ("return_shipping", "七天无理由退货的话寄回去的运费谁出", ["运费由买家承担", "2次运费险"]),
    ("free_shipping", "买多少钱可以包邮", ["满99元即可包邮", "收取运费8元"]),
    ("delivery_time", "付款以后多久发货", ["付款后48小时内发货"]),
    ("cancel_order", "还没发货的订单可以自己取消吗", ["订单详情页直接取消"]),
    ("pending_payment", "下了单没付款会怎么样", ["30分钟内未完成付款"]),
    ("change_address", "收货地址填错了还能改吗", ["修改一次收货地址"]),
    ("invoice", "怎么开发票", ["电子普通发票"]),
    ("payment_methods", "可以用信用卡分期付款吗", ["3期、6期或12期"]),
    ("price_protect", "刚买的东西就降价了有价格保护吗", ["签收后7天内降价", "退还差价"]),
    ("membership", "会员等级是怎么划分的", ["满2000元升为银卡", "满8000元为金卡", "满30000元为钻石会员"]),
    ("points", "积分怎么抵扣现金", ["100积分可抵扣1元"]),
    ("wallet_withdraw", "钱包余额提现要手续费吗", ["0.1%的手续费"]),
    ("wallet_frozen", "账户被冻结了怎么解冻", ["人工客服核实您的身份后解冻"]),
    ("reset_password", "登录密码忘了怎么办", ["忘记密码", "设置新的登录密码"]),
    ("bind_phone", "怎么换绑手机号", ["账户设置-安全中心"]),
    ("flight_change_fee", "机票改签收多少手续费", ["收取票价的10%", "收取票价的20%"]),
    ("flight_refund_fee", "机票退票手续费怎么算", ["收取票价的5%", "收取票价的40%"]),
    ("baggage", "经济舱可以免费托运多少公斤行李", ["经济舱可免费托运行李20公斤"]),
    ("checkin", "网上值机什么时候开始", ["起飞前24小时开放在线值机"]),
    ("flight_delay", "航班延误有补偿吗", ["延误超过4小时", "延误补偿券"]),
    ("service_hours", "人工客服几点上班", ["人工客服服务时间为每天09:00-21:00"]),
    ("complaint", "投诉以后多久有人处理", ["24小时内由专人回电"]),
    ("privacy", "客服会问我要验证码吗", ["不会索要您的登录密码、支付密码或短信验证码"]),
    ("elderly", "老年人打电话怎么快速转人工", ["按0键即可直接转接人工客服"]),
    ("exchange", "换货可以换别的款式吗", ["同款商品更换尺码或颜色"]),
    ("coupon", "退货以后优惠券还能退回来吗", ["仍在有效期内，会退回您的账户"]),
    ("lost_package", "包裹显示签收了其实没收到，怎么处理", ["请在48小时内联系客服"]),
]

# Questions with a condition: the reply states the part that applies and not the others.
CONDITIONAL = [
    ("还有3天起飞，改签要多少手续费", "起飞前7天内至48小时：收取票价的10%", ["收取票价的20%", "免费改签"]),
    ("寄到乌鲁木齐运费多少钱", "偏远地区需另加运费15元", ["满99元即可包邮"]),
]

# The replies a wrong turn would give instead of an answer.
OTHER_REPLIES = ("utter_greet", "utter_out_of_scope", "utter_faq_not_sure", "utter_default", "utter_iamabot")


def test_no_expected_fact_is_in_a_reply_that_is_not_an_answer() -> None:
    import yaml

    from tests.stack import ROOT

    responses = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
    others = " ".join(r.get("text", "") for name in OTHER_REPLIES for r in responses.get(name, []))
    assert others, "the replies to compare with were not found in domain.yml"
    for fact, _, expected in QUESTIONS:
        for part in expected:
            assert part not in others, f"{fact}: {part!r} is also in a reply that is not an answer"


@pytest.mark.parametrize("fact, question, expected", QUESTIONS, ids=[q[0] for q in QUESTIONS])
def test_every_kb_fact_is_answered_over_rest(chat, fact, question, expected):
    reply = Conversation(chat).say(question)
    for part in expected:
        assert part in reply, f"{fact}: {question!r} -> {reply!r}"


@pytest.mark.parametrize("question, applies, others", CONDITIONAL, ids=["days-to-departure", "city"])
def test_a_question_with_a_condition_gets_the_part_that_applies(chat, question, applies, others):
    reply = Conversation(chat).say(question)
    assert applies in reply, f"{question!r} -> {reply!r}"
    assert not any(other in reply for other in others), f"{question!r} -> {reply!r}"


def test_a_policy_question_inside_the_refund_form_is_answered_and_the_refund_completes(
    chat, store, new_delivered_order
):
    order_id = new_delivered_order("XH2611209901")
    talk = conversation_to_verify(chat, "我要退货", "13800138001", "2817")
    assert "原因" in talk.say(order_id)
    answer = talk.say("退到微信一般要几天")
    assert "支付宝1-3个工作日到账" in answer and "原因" in answer  # answered, then the form asks again
    talk.say("七天无理由")
    assert "工单号 TK" in talk.say("确认")
    with store() as session:
        refund = session.execute(select(Refund).where(Refund.order_id == order_id)).scalar_one()
        assert (refund.method, refund.status, str(refund.amount)) == ("wechat", "processing", "159.00")
