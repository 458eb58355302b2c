"""Attacks on the REST channel and Rasa's HTTP API of the running product (what
`make run` starts): nobody acts as a customer they have not proven to be, and no
conversation can be read or changed without the API token."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import jwt
import pytest
import requests

from connectors.rest import REST_AUDIENCE
from connectors.signed import mint_customer_token
from tests.connectors.drivers import OPENID
from tests.e2e.conversation import conversation_to_verify
from tests.security.demo_secrets import leaked
from tests.stack import REST_SECRET

WEBHOOK = "/webhooks/rest/webhook"
ASKS_FOR_PHONE = "手机号"


def post(rasa_url: str, body, **kwargs) -> requests.Response:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body, ensure_ascii=False).encode("utf-8")
    return requests.post(
        rasa_url + WEBHOOK, data=data, headers={"Content-Type": "application/json"}, timeout=60, **kwargs
    )


def said(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    return "\n".join(m.get("text") or "" for m in response.json())


# ---- finding 1: identity in REST metadata ----------------------------------------


@pytest.mark.parametrize("request_text", ["查余额", "最近的交易记录", "我的积分有多少", "我要退票"])
def test_identity_claimed_in_rest_metadata_is_not_believed(rasa_url, chat, request_text):
    sender = chat.new_sender()
    answer = post(
        rasa_url,
        {
            "sender": sender,
            "message": request_text,
            "metadata": {"verified_customer_id": "C001"},
            "input_channel": "webchat",
        },
    )
    text = said(answer)
    assert ASKS_FOR_PHONE in text and leaked(answer.text) == []
    slots = chat.tracker(chat.conversation_id(sender))["slots"]
    assert slots["verified_customer_id"] is None and slots["session_started_metadata"] in (None, {})


def test_identity_smuggled_in_an_intent_payload_is_not_believed(rasa_url, chat):
    answer = post(
        rasa_url, {"sender": chat.new_sender(), "message": '/account_lookup{"verified_customer_id": "C001"}'}
    )
    assert ASKS_FOR_PHONE in said(answer) and leaked(answer.text) == []


def test_a_rest_sender_named_like_a_bound_wechat_user_gets_an_unverified_conversation(rasa_url, chat):
    answer = post(rasa_url, {"sender": OPENID, "message": "查余额"})  # 张伟's openid, bound in WeChat
    assert ASKS_FOR_PHONE in said(answer) and leaked(answer.text) == []
    assert chat.tracker(chat.conversation_id(OPENID))["slots"]["verified_customer_id"] is None


def test_the_readme_example_still_works_for_an_anonymous_customer(rasa_url):
    answer = post(rasa_url, {"sender": "demo", "message": "我的快递到哪了"})
    assert "订单号" in said(answer)


# ---- a back office's signed identity ------------------------------------------------


def test_a_signed_identity_sees_its_own_account_and_nobody_can_take_over_the_conversation(rasa_url, chat):
    sender = chat.new_sender()
    token = mint_customer_token("C001", REST_SECRET, REST_AUDIENCE)
    vouched = post(rasa_url, {"sender": sender, "message": "查余额", "metadata": {"customer_token": token}})
    assert "1280.50" in said(vouched)  # the control: the feature works, so the refusals below can fail
    anonymous = post(rasa_url, {"sender": sender, "message": "查余额"})
    assert ASKS_FOR_PHONE in said(anonymous) and leaked(anonymous.text) == []


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda now: {"sub": "C001", "aud": REST_AUDIENCE, "iat": now - 900, "exp": now - 300},
            id="expired",
        ),
        pytest.param(
            lambda now: {"sub": "C001", "aud": "xinghe-webchat-login", "iat": now, "exp": now + 300},
            id="audience",
        ),
        pytest.param(
            lambda now: {"sub": "C001", "aud": REST_AUDIENCE, "iat": now, "exp": now + 30 * 86400},
            id="lives-a-month",
        ),
    ],
)
def test_a_signed_identity_with_a_wrong_audience_or_expiry_is_refused(rasa_url, chat, forge):
    token = jwt.encode(forge(int(time.time())), REST_SECRET, algorithm="HS256")
    answer = post(
        rasa_url, {"sender": chat.new_sender(), "message": "查余额", "metadata": {"customer_token": token}}
    )
    assert answer.status_code == 401 and "身份凭证无效或已过期" in answer.json()["error"]
    assert leaked(answer.text) == []


def test_a_signed_identity_with_another_secret_is_refused(rasa_url, chat):
    token = mint_customer_token("C001", "guessed-secret-0123456789abcdefghij", REST_AUDIENCE)
    answer = post(
        rasa_url, {"sender": chat.new_sender(), "message": "查余额", "metadata": {"customer_token": token}}
    )
    assert answer.status_code == 401 and leaked(answer.text) == []


# ---- bad bodies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, status, by_channel",
    [
        (b'{"sender": "x", "message": ', 400, True),
        (b'["sender", "message"]', 400, True),
        (b'{"sender": {"$ne": null}, "message": "hi"}', 400, True),
        (b'{"sender": "x", "message": null}', 400, True),
        ('{"sender": "x", "message": "%s"}' % ("查" * 5000), 400, True),
        ('{"sender": "x", "message": "hi", "pad": "%s"}' % ("x" * 100_000), 413, True),
        (b"x" * 3_000_000, 413, False),  # above the server-wide cap, refused before any channel reads it
    ],
    ids=["cut-off", "a-list", "operator-as-sender", "null-message", "too-long", "over-16kb", "over-1mib"],
)
def test_malformed_and_oversized_rest_bodies_are_refused_in_chinese(rasa_url, body, status, by_channel):
    answer = post(rasa_url, body)
    assert answer.status_code == status
    assert "Traceback" not in answer.text and "site-packages" not in answer.text
    if by_channel:  # the channel's own refusals explain themselves
        assert "请求" in answer.json()["error"]
    assert said(post(rasa_url, {"sender": "still-alive", "message": "你好"}))  # and the server is still up


# ---- finding 2: Rasa's HTTP API ---------------------------------------------------------


@pytest.fixture(scope="module")
def verified_conversation(chat):
    """A conversation whose tracker holds 张伟's phone number, ID tail and balance."""
    talk = conversation_to_verify(chat, "查余额", "13800138001", "2817")
    assert "1280.50" in talk.say("查余额")
    return talk.conversation_id


def api_calls(conversation_id: str):
    path = f"/conversations/{quote(conversation_id, safe=':')}"
    event = [{"event": "slot", "name": "verified_customer_id", "value": "C003"}]
    return [
        ("GET", "/status", None),
        ("GET", "/domain", None),
        ("GET", f"{path}/tracker", None),
        ("GET", f"{path}/story", None),
        ("POST", f"{path}/tracker/events", event),
        ("PUT", f"{path}/tracker/events", event),
        ("POST", f"{path}/execute", {"name": "action_account_lookup"}),
        ("POST", f"{path}/trigger_intent", {"name": "account_lookup"}),
        ("POST", f"{path}/predict", None),
        ("POST", f"{path}/messages", {"text": "查余额", "sender": "user"}),
        ("POST", "/model/parse", {"text": "查余额"}),
        ("POST", "/model/predict", []),
        ("POST", "/model/train", {}),
        ("POST", "/model/test/stories", None),
        ("POST", "/model/test/intents", None),
        ("PUT", "/model", {"model_file": "/tmp/evil.tar.gz"}),
        ("DELETE", "/model", None),
    ]


@pytest.mark.parametrize(
    "token", [None, "", "wrong-token", "null"], ids=["missing", "empty", "wrong", "null"]
)
def test_every_api_endpoint_refuses_without_the_token(rasa_url, chat, verified_conversation, token):
    params = {} if token is None else {"token": token}
    for method, path, body in api_calls(verified_conversation):
        answer = requests.request(method, rasa_url + path, params=params, json=body, timeout=60)
        assert answer.status_code == 401, (method, path, answer.status_code)
        assert leaked(answer.text) == [], (method, path)
    slots = chat.tracker(verified_conversation)["slots"]  # nothing was appended or executed
    assert slots["verified_customer_id"] == "C001"


def test_the_api_token_opens_the_api(rasa_url, chat, verified_conversation):
    """The control for the refusals above: the same call with the token reads the transcript (the
    phone number the customer gave in it, as it rests: masked)."""
    transcript = json.dumps(chat.tracker(verified_conversation), ensure_ascii=False)
    assert "138****8001" in transcript and "13800138001" not in transcript


def test_the_workspace_bridge_takes_only_the_token_and_only_the_workspaces_events(
    rasa_url, chat, verified_conversation
):
    """The channel the agent workspace writes through: a stranger gets 403; even with the token,
    nothing but an agent's own events (no slot, no customer message) goes into a conversation."""
    url = rasa_url + "/webhooks/workspace/events"
    forged = {
        "conversation_id": verified_conversation,
        "events": [{"event": "slot", "name": "verified_customer_id", "value": "C003"}],
    }
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Token {chat.api['token']}"},
    ):
        answer = requests.post(url, json=forged, headers=headers, timeout=30)
        assert answer.status_code == 403 and answer.json() == {"error": "无权访问"}
    answer = requests.post(
        url, json=forged, headers={"Authorization": f"Bearer {chat.api['token']}"}, timeout=30
    )
    assert answer.status_code == 400 and "只接受" in answer.json()["error"]
    assert chat.tracker(verified_conversation)["slots"]["verified_customer_id"] == "C001"


@pytest.mark.parametrize("path", ["/conversations/x/tracker", "/model/parse", WEBHOOK])
def test_no_other_site_may_call_rasa_from_a_visitors_browser(rasa_url, path):
    evil = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    for method in ("OPTIONS", "GET", "POST"):
        answer = requests.request(method, rasa_url + path, headers=evil, timeout=30)
        assert "Access-Control-Allow-Origin" not in answer.headers, (method, path)


def test_api_errors_carry_no_stack_trace_or_path(rasa_url, chat):
    answer = requests.post(f"{rasa_url}/model/parse", params=chat.api, data=b"{oops", timeout=30)
    assert answer.status_code >= 400
    for internal in ("Traceback", "site-packages", "/work/", 'File "'):
        assert internal not in answer.text
