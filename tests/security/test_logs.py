"""What the running product writes to its logs: no secret, no customer's phone number
or money, even after a conversation full of them and a few attacks."""

from __future__ import annotations

import requests

from connectors.rest import REST_AUDIENCE
from connectors.signed import mint_customer_token
from tests.e2e.conversation import conversation_to_verify
from tests.security.demo_secrets import leaked
from tests.stack import REST_SECRET, WEBCHAT_SECRET, WEBCHAT_SITE_SECRET

PERSONAL = ("13800138001", "1280.50", "3680", "399.00")  # 张伟's phone, balance, points, a payment


def test_logs_hold_no_secrets_and_no_personal_data(e2e_stack, chat, rasa_url, actions_url):
    talk = conversation_to_verify(chat, "查余额", "13800138001", "2817")
    assert "1280.50" in talk.say("查余额")
    assert "399.00" in talk.say("最近的交易记录")
    token = mint_customer_token("C001", REST_SECRET, REST_AUDIENCE)
    requests.post(
        f"{rasa_url}/webhooks/rest/webhook",
        json={"sender": "crm", "message": "查余额 13800138001", "metadata": {"customer_token": token}},
        timeout=60,
    )
    requests.post(
        f"{rasa_url}/webhooks/rest/webhook",
        json={"sender": "x", "message": "13800138001", "metadata": {"customer_token": token + "x"}},
        timeout=60,
    )
    requests.post(
        f"{actions_url}/webhook", headers={"Authorization": "Bearer guess-13800138001"}, json={}, timeout=30
    )
    secrets = (
        e2e_stack.api_token,
        e2e_stack.actions_token,
        REST_SECRET,
        WEBCHAT_SECRET,
        WEBCHAT_SITE_SECRET,
        token,
    )
    for name, log in e2e_stack.logs.items():
        text = log.read_text(encoding="utf-8", errors="replace")
        assert text, f"{name} log is empty: nothing was checked"
        assert leaked(text, secrets) == [], f"a secret in the {name} log"
        assert leaked(text, PERSONAL) == [], f"personal data in the {name} log"
