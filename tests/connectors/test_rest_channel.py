"""The REST channel over HTTP: who a client is taken to be, and what it is refused."""

from __future__ import annotations

import time

import jwt
import pytest
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from business.services.identity import VERIFIED_CUSTOMER_KEY
from connectors.rest import REST_AUDIENCE, RestInput, RestSettings, rest_conversation_id
from connectors.signed import mint_customer_token
from connectors.webchat.tokens import CUSTOMER_AUDIENCE
from tests.connectors.drivers import OPENID

SECRET = "rest-test-secret-0123456789abcdef"


def settings(**overrides) -> RestSettings:
    values = {
        "secret": SECRET,
        "max_body_bytes": 16384,
        "max_message_chars": 2000,
        "max_sender_chars": 128,
        "token_max_lifetime_s": 600,
    }
    values.update(overrides)
    return RestSettings(**values)


@pytest.fixture
def rest(serve, fake_rasa):
    async def start(**overrides):
        served = await serve(RestInput(settings(**overrides)), fake_rasa)

        async def post(body, raw: bool = False):
            kwargs = {"data": body} if raw else {"json": body}
            async with served.http.post(f"{served.base_url}/webhook", **kwargs) as answer:
                return answer.status, await answer.json()

        return post

    return start


def token(
    customer: str = "C001",
    secret: str = SECRET,
    audience: str = REST_AUDIENCE,
    issued_ago: int = 0,
    lifetime: int = 300,
    **claims,
) -> str:
    now = int(time.time()) - issued_ago
    return jwt.encode(
        {"sub": customer, "aud": audience, "iat": now, "exp": now + lifetime, **claims},
        secret,
        algorithm="HS256",
    )


async def test_an_anonymous_client_is_answered_in_its_own_rest_conversation(rest, fake_rasa):
    post = await rest()
    status, messages = await post({"sender": "demo", "message": "你好"})
    assert status == 200 and messages == [{"recipient_id": "rest:demo", "text": "收到：你好"}]
    [message] = fake_rasa.received
    assert (message.sender_id, message.input_channel, message.metadata) == ("rest:demo", "rest", {})


@pytest.mark.parametrize(
    "metadata",
    [
        {VERIFIED_CUSTOMER_KEY: "C001"},
        {VERIFIED_CUSTOMER_KEY: "C001", "wechat": {"openid": OPENID}},
        {"phone": {"caller": "+8613800138001"}},
    ],
)
async def test_identity_a_client_claims_in_metadata_is_dropped(rest, fake_rasa, metadata):
    post = await rest()
    status, _ = await post(
        {"sender": "anyone", "message": "查余额", "metadata": metadata, "input_channel": "webchat"}
    )
    assert status == 200
    [message] = fake_rasa.received
    assert (message.metadata, message.input_channel) == ({}, "rest")


@pytest.mark.parametrize("sender", [OPENID, "web:0123456789abcdef", "CA" + "0" * 32, "rest-verified:C001:x"])
async def test_a_sender_named_like_another_channels_conversation_gets_its_own(rest, fake_rasa, sender):
    post = await rest()
    await post({"sender": sender, "message": "你好"})
    assert fake_rasa.received[0].sender_id == "rest:" + sender


async def test_a_signed_identity_is_vouched_for_in_a_conversation_of_its_own(rest, fake_rasa):
    post = await rest()
    status, _ = await post({"sender": "crm-42", "message": "查余额", "metadata": {"customer_token": token()}})
    assert status == 200
    [message] = fake_rasa.received
    assert message.sender_id == rest_conversation_id("crm-42", "C001") == "rest-verified:C001:crm-42"
    assert message.metadata == {VERIFIED_CUSTOMER_KEY: "C001"}


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda: token(secret="someone-elses-secret-0123456789abc"), id="wrong-secret"),
        pytest.param(lambda: token(audience=CUSTOMER_AUDIENCE), id="web-chat-login-token"),
        pytest.param(lambda: token(issued_ago=400, lifetime=300), id="expired"),
        pytest.param(lambda: token(lifetime=86400), id="lives-a-day"),
        pytest.param(
            lambda: jwt.encode({"sub": "C001", "aud": REST_AUDIENCE}, SECRET, algorithm="HS256"),
            id="no-expiry",
        ),
        pytest.param(
            lambda: jwt.encode(
                {"sub": "C001", "aud": REST_AUDIENCE, "exp": int(time.time()) + 60}, None, algorithm="none"
            ),
            id="unsigned",
        ),
        pytest.param(lambda: token()[:-3] + "abc", id="tampered"),
        pytest.param(lambda: "C001", id="not-a-token"),
        pytest.param(lambda: token(customer="C001:crm-42"), id="id-with-a-colon"),
    ],
)
async def test_a_wrong_expired_or_foreign_token_is_refused_and_makes_no_turn(rest, fake_rasa, forged):
    post = await rest()
    status, body = await post(
        {"sender": "crm-42", "message": "查余额", "metadata": {"customer_token": forged()}}
    )
    assert (status, body["code"]) == (401, "identity_invalid") and "身份凭证无效" in body["error"]
    assert fake_rasa.received == []


async def test_without_a_secret_signed_identities_are_refused(rest, fake_rasa):
    post = await rest(secret="")
    status, body = await post(
        {"sender": "crm-42", "message": "查余额", "metadata": {"customer_token": token()}}
    )
    assert (status, body["code"]) == (403, "identity_disabled") and fake_rasa.received == []


@pytest.mark.parametrize(
    "body, code",
    [
        (b"{not json", "malformed"),
        (b"[1, 2]", "malformed"),
        (b"\xff\xfe", "malformed"),
        (b'{"message": "hi"}', "bad_sender"),
        (b'{"sender": 42, "message": "hi"}', "bad_sender"),
        (b'{"sender": "   ", "message": "hi"}', "bad_sender"),
        ('{"sender": "%s", "message": "hi"}' % ("x" * 129), "bad_sender"),
        (b'{"sender": "a"}', "bad_message"),
        (b'{"sender": "a", "message": {"text": "hi"}}', "bad_message"),
        ('{"sender": "a", "message": "%s"}' % ("长" * 2001), "bad_message"),
    ],
)
async def test_malformed_bodies_get_a_chinese_400_and_make_no_turn(rest, fake_rasa, body, code):
    post = await rest()
    status, answer = await post(body, raw=True)
    assert (status, answer["code"]) == (400, code) and "请求" in answer["error"]
    assert fake_rasa.received == []


async def test_an_oversized_body_is_refused(rest, fake_rasa):
    post = await rest()
    status, answer = await post({"sender": "a", "message": "你好", "padding": "x" * 20000})
    assert (status, answer["code"]) == (413, "body_too_large") and fake_rasa.received == []


async def test_a_failed_turn_answers_a_chinese_500_without_details(serve):
    async def broken(message):
        raise RuntimeError("database at /srv/secret/path is down")

    class Broken:
        on_new_message = staticmethod(broken)

    served = await serve(RestInput(settings()), Broken())
    async with served.http.post(
        f"{served.base_url}/webhook", json={"sender": "a", "message": "你好"}
    ) as answer:
        body = await answer.text()
    assert answer.status == 500 and "系统有点忙" in body and "secret" not in body and "Traceback" not in body


def test_the_back_office_token_helper_makes_a_token_the_channel_accepts():
    turn = RestInput(settings()).accept(
        b'{"sender": "s", "message": "hi", "metadata": {"customer_token": "%s"}}'
        % mint_customer_token("C002", SECRET, REST_AUDIENCE).encode()
    )
    assert turn.metadata == {VERIFIED_CUSTOMER_KEY: "C002"}


async def test_an_integration_fetches_what_the_agent_wrote_since_its_last_turn(serve, fake_rasa):
    fake_rasa.tracker_store = InMemoryTrackerStore(Domain.empty())
    conversation = rest_conversation_id("shop-42")
    await fake_rasa.tracker_store.save(
        DialogueStateTracker.from_events(
            conversation,
            [
                UserUttered("转人工", timestamp=100.0),
                BotUttered("已为您转接人工客服", timestamp=101.0),
                BotUttered(
                    "您好，我来帮您查", metadata={"agent_id": "A001", "agent_name": "王芳"}, timestamp=150.0
                ),
            ],
        )
    )
    served = await serve(RestInput(settings()), fake_rasa)

    async def fetch(body):
        async with served.http.post(f"{served.base_url}/messages", json=body) as answer:
            return answer.status, await answer.json()

    status, found = await fetch({"sender": "shop-42", "since": 101.0})
    assert status == 200
    assert found == {
        "messages": [{"text": "您好，我来帮您查", "at": 150.0, "from": "agent", "agent_name": "王芳"}]
    }
    assert len((await fetch({"sender": "shop-42"}))[1]["messages"]) == 2
    # Another sender, or the same sender name with a signed customer, is another conversation.
    assert (await fetch({"sender": "shop-43"}))[1] == {"messages": []}
    status, refused = await fetch({"sender": "shop-42", "since": "yesterday"})
    assert (status, refused["code"]) == (400, "bad_since")
    status, refused = await fetch({"sender": "shop-42", "metadata": {"customer_token": "forged"}})
    assert (status, refused["code"]) == (401, "identity_invalid")
