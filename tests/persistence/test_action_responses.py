"""Rasa's check of the action server's answers, with the schema checked once: the same answers pass
and fail, with the same error, as with Rasa's own check; and it is what Rasa uses once the product's
tracker store module is loaded."""

from __future__ import annotations

import time

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

import persistence.tracker_store  # noqa: F401 - installs the check, as in every Rasa process of the product
from persistence.action_responses import validate_action_result

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
]
BAD = [
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": [{"event": "slot", "value": 1}], "responses": []},
    {"events": "none", "responses": []},
    {"events": [], "responses": ["text only"]},
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
