"""Rasa's check of the action server's answers, with the schema checked once: the same answers pass
and fail, with the same error, as with Rasa's own check; and it is what Rasa uses once the product's
tracker store module is loaded."""

from __future__ import annotations

import time

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

import persistence.tracker_store  # noqa: F401 - installs the check, as in every Rasa process of the product
from persistence.action_responses import passes, validate_action_result

EVENT_KINDS = RemoteAction.action_response_format_spec()["properties"]["events"]["items"]["oneOf"]
ACTION = RemoteAction("action_check_order", EndpointConfig("http://localhost:5055/webhook"))
GOOD = [
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "order_id", "value": "XH2611010001"}],
        "responses": [{"response": "utter_x"}],
    },
    {
        "events": [{"event": "followup", "name": "action_listen"}],
        "responses": [{"response": "utter_service_error"}],
    },
    {
        "events": [
            {"event": "session_started", "timestamp": 1.5},
            {"event": "slot", "name": "verified_customer_id", "value": None, "metadata": None},
            {"event": "action", "name": "action_listen", "policy": None, "confidence": None},
            {"event": "active_loop", "name": None},
            {"event": "bot", "text": "您好", "data": {}},
            {"event": "user", "text": "查订单", "parse_data": {"intent": {"name": "order_status"}}},
            {"event": "pause"},
        ],
        "responses": [],
    },
]
BAD = [
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": [{"event": "slot", "value": 1}], "responses": []},
    {"events": "none", "responses": []},
    {"events": [], "responses": ["text only"]},
    {"events": [{"event": "no_such_event", "name": "x"}, {"event": "slot", "name": "a", "value": 1}]},
    {"events": [{"event": 1}]},
    {"events": [{"name": "order_id", "value": "XH2611010001"}]},
    {"events": [{"event": "slot", "name": "order_id", "value": "x", "timestamp": "今天"}]},
    {"events": [{"event": "action", "name": "action_listen"}, {"event": "slot", "name": "a"}]},
    {"events": ["slot"]},
]


def rasas_own_check(result):
    """What Rasa 3.6 does: jsonschema.validate against its response schema."""
    jsonschema.validate(result, RemoteAction.action_response_format_spec())


@pytest.mark.parametrize("result", GOOD)
def test_a_good_answer_passes_as_with_rasas_check(result):
    rasas_own_check(result)
    assert ACTION._validate_action_result(result) is True


@pytest.mark.parametrize("result", BAD)
def test_a_bad_answer_fails_with_rasas_error(result):
    with pytest.raises(jsonschema.ValidationError) as rasas:
        rasas_own_check(result)
    with pytest.raises(jsonschema.ValidationError) as ours:
        ACTION._validate_action_result(result)
    assert ours.value.message.startswith(rasas.value.message + ". Failed to validate Action server response")


KINDS = [kind["properties"]["event"]["const"] for kind in EVENT_KINDS] + ["no_such_event"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=3))
FIELDS = st.one_of(
    VALUES, st.lists(VALUES, max_size=2), st.dictionaries(st.text(max_size=2), VALUES, max_size=2)
)
# Mostly events of a real kind with fields of any type, missing or not; now and then no kind at all.
EVENTS = st.one_of(
    st.fixed_dictionaries(
        {"event": st.sampled_from(KINDS)},
        optional=dict.fromkeys(
            ["name", "value", "text", "timestamp", "metadata", "policy", "entities", "parse_data"], FIELDS
        ),
    ),
    st.dictionaries(st.sampled_from(["event", "name", "value"]), FIELDS, max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(EVENTS, VALUES), max_size=4),
    st.lists(st.one_of(st.dictionaries(st.text(max_size=2), VALUES), VALUES), max_size=2),
)
def test_any_answer_is_accepted_or_refused_as_rasas_check_does(events, responses):
    answer = {"events": events, "responses": responses}
    try:
        rasas_own_check(answer)
        accepted = True
    except jsonschema.ValidationError:
        accepted = False
    assert passes(answer) is accepted


def test_rasa_uses_the_check_built_once():
    assert RemoteAction._validate_action_result is validate_action_result


def test_the_check_costs_a_fraction_of_rasas():
    answer = GOOD[1]
    started = time.perf_counter()
    for _ in range(20):
        rasas_own_check(answer)
    rasas = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(20):
        ACTION._validate_action_result(answer)
    ours = time.perf_counter() - started
    assert ours * 5 < rasas, (ours, rasas)
