"""Every knowledge-base fact, asked in natural Chinese over REST, comes back with its numbers."""
import pytest
from sqlalchemy import select

from actions.store.models import Refund
from tests.e2e.conversation import Conversation, conversation_to_verify

pytestmark = pytest.mark.e2e

# One customer question per kb_fact of the demo data, and what the answer must say.
QUESTIONS = [
    ("return_window", "收到货不喜欢能退吗，几天内可以退", ["7天"]),
    ("quality_return", "用了十来天发现质量有问题还能退换吗", ["15天"]),
    ("refund_timeline", "退款一般多久能到账", ["1-3个工作日", "3-7个工作日"]),
    ("return_shipping", "七天无理由退货的话寄回去的运费谁出", ["买家", "2次"]),
    ("free_shipping", "买多少钱可以包邮", ["99元", "8元"]),
    ("delivery_time", "付款以后多久发货", ["48小时"]),
    ("cancel_order", "还没发货的订单可以自己取消吗", ["取消"]),
    ("pending_payment", "下了单没付款会怎么样", ["30分钟"]),
    ("change_address", "收货地址填错了还能改吗", ["一次"]),
    ("invoice", "怎么开发票", ["电子普通发票"]),
    ("payment_methods", "可以用信用卡分期付款吗", ["分期"]),
    ("price_protect", "刚买的东西就降价了有价格保护吗", ["差价"]),
    ("membership", "会员等级是怎么划分的", ["2000元", "8000元", "30000元"]),
    ("points", "积分怎么抵扣现金", ["100积分"]),
    ("wallet_withdraw", "钱包余额提现要手续费吗", ["0.1%"]),
    ("wallet_frozen", "账户被冻结了怎么解冻", ["人工"]),
    ("reset_password", "登录密码忘了怎么办", ["忘记密码"]),
    ("bind_phone", "怎么换绑手机号", ["安全中心"]),
    ("flight_change_fee", "机票改签收多少手续费", ["10%", "20%"]),
    ("flight_refund_fee", "机票退票手续费怎么算", ["5%", "40%"]),
    ("baggage", "经济舱可以免费托运多少公斤行李", ["20公斤"]),
    ("checkin", "网上值机什么时候开始", ["24小时"]),
    ("flight_delay", "航班延误有补偿吗", ["4小时"]),
    ("service_hours", "人工客服几点上班", ["09:00-21:00"]),
    ("complaint", "投诉以后多久有人处理", ["24小时"]),
    ("privacy", "客服会问我要验证码吗", ["验证码"]),
    ("elderly", "老年人打电话怎么快速转人工", ["0"]),
    ("exchange", "换货可以换别的款式吗", ["尺码"]),
    ("coupon", "退货以后优惠券还能退回来吗", ["优惠券"]),
    ("lost_package", "包裹显示签收了其实没收到，怎么处理", ["48小时"]),
]


@pytest.mark.parametrize("fact, question, expected", QUESTIONS, ids=[q[0] for q in QUESTIONS])
def test_every_kb_fact_is_answered_over_rest(chat, fact, question, expected):
    reply = Conversation(chat).say(question)
    for part in expected:
        assert part in reply, f"{fact}: {question!r} -> {reply!r}"


def test_a_policy_question_inside_the_refund_form_is_answered_and_the_refund_completes(
    chat, store, new_delivered_order
):
    order_id = new_delivered_order("XH2611209901")
    talk = conversation_to_verify(chat, "我要退货", "13800138001", "2817")
    assert "原因" in talk.say(order_id)
    answer = talk.say("退到微信一般要几天")
    assert "1-3个工作日" in answer and "原因" in answer  # answered, then the form asks again
    talk.say("七天无理由")
    assert "工单号 TK" in talk.say("确认")
    with store() as session:
        refund = session.execute(select(Refund).where(Refund.order_id == order_id)).scalar_one()
        assert (refund.method, refund.status, str(refund.amount)) == ("wechat", "processing", "159.00")
