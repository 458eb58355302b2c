"""Rasa's rule policy finds the same rules through the index as by checking every rule, on hand-made
rules of every kind and on the trained model's own; and a loaded policy is the one that is indexed."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import SHOULD_NOT_BE_SET

import persistence.tracker_store  # noqa: F401 - installs the index, as in every Rasa process of the product
from persistence.rule_index import RULE_POLICYS_OWN_LOOKUP, index_rules


def listen(intent: str, **more: Any) -> Dict[str, Any]:
    return {"prev_action": {"action_name": "action_listen"}, "user": {"intent": intent}, **more}


RULE_STATES: List[List[Dict[str, Any]]] = [
    [listen("greet")],
    [listen("order_status")],
    [listen("order_status", slots={"order_id": (1.0,)})],
    [listen("goodbye", active_loop={"name": "cancel_order_form"})],
    [{"prev_action": {"action_name": "action_order_status"}, "user": {"intent": "order_status"}}],
    [
        listen("order_status"),
        {"prev_action": {"action_name": "utter_ask_order_id"}, "user": {"intent": "order_status"}},
    ],
    [{"prev_action": {"action_name": "verify_identity_form"}, "active_loop": {"name": SHOULD_NOT_BE_SET}}],
    [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": SHOULD_NOT_BE_SET}}],
    [{"prev_action": {"action_name": "action_listen"}}],  # any intent after listening
    [{"user": {"intent": "greet"}}],  # a conversation's first state
    [{}, listen("greet")],
    [{"prev_action": {"action_text": "您好"}, "user": {"intent": "thanks"}}],
    [{"prev_action": {"action_name": "action_answer_faq"}, "user": {"intent": "ask_faq"}}, listen("thanks")],
]
INTENTS = ["greet", "order_status", "goodbye", "thanks", "ask_faq", None]
ACTIONS = ["action_listen", "action_order_status", "verify_identity_form", "utter_ask_order_id", None]


def policy_with(rule_keys: List[str], tmp_path: Path) -> RulePolicy:
    lookup = {RULES: dict.fromkeys(rule_keys, "some_action"), RULES_FOR_LOOP_UNHAPPY_PATH: {}}
    schema = GraphSchema({})
    policy = RulePolicy(
        {**RulePolicy.get_default_config()}, LocalModelStorage(tmp_path), Resource("rules"),
        ExecutionContext(schema, "test"), lookup=lookup,
    )  # fmt: skip
    policy._rule_indexes = [(lookup[RULES], index_rules(rule_keys))]
    return policy


def conversations(rule_keys: List[str]) -> Iterator[List[Dict[str, Any]]]:
    """Each rule's own states, and the same with the last state's action, intent or history changed."""
    for key in rule_keys:
        states = json.loads(key)
        yield states
        yield states[-1:]
        yield [json.loads(rule_keys[0])[-1], *states]
        for action in ACTIONS:
            for intent in INTENTS:
                changed = copy.deepcopy(states)
                changed[-1]["prev_action"] = {"action_name": action} if action else {}
                changed[-1]["user"] = {"intent": intent} if intent else {"text": "随便说说"}
                yield changed


def same_rules_found(policy: RulePolicy) -> int:
    checked = 0
    for name in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH):
        lookup = policy.lookup[name]
        for states in conversations(list(lookup)):
            assert policy._get_possible_keys(lookup, states) == RULE_POLICYS_OWN_LOOKUP(
                policy, lookup, states
            )
            checked += 1
    return checked


def test_the_index_finds_what_checking_every_rule_finds(tmp_path):
    keys = [json.dumps(states) for states in RULE_STATES]
    policy = policy_with(keys, tmp_path)
    assert same_rules_found(policy) > 300
    # and it does find rules: the greeting rules after a greeting, the catch-all after any message
    found = policy._get_possible_keys(policy.lookup[RULES], [listen("greet")])
    assert {json.dumps(RULE_STATES[0]), json.dumps(RULE_STATES[8])} <= found


@pytest.mark.e2e
def test_the_trained_models_rules_are_found_the_same_through_the_index():
    from tests.stack import find_model

    with tempfile.TemporaryDirectory() as unpacked:
        storage, metadata = LocalModelStorage.from_model_archive(Path(unpacked), find_model())
        schema = metadata.predict_schema
        [(name, node)] = [(n, s) for n, s in schema.nodes.items() if s.uses is RulePolicy]
        config = {**RulePolicy.get_default_config(), **node.config}  # as Rasa's graph node merges them
        policy = RulePolicy.load(config, storage, node.resource, ExecutionContext(schema, "test"))
    assert len(policy._rule_indexes) == 2  # loading indexed both kinds of rules
    assert same_rules_found(policy) > 5000
