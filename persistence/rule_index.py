"""Rasa's rule policy, finding the rules that may apply to a conversation through an index.

For every action it predicts, Rasa's `RulePolicy` checks each of its rules (221 here, and the 37 for
forms' unhappy paths) against the conversation's states, most of them only to find at the last state
that the rule follows another action or another intent: 7 % of the busy Rasa process's samples. A rule
can only apply if its last state's previous action and intent, where it names them, are the
conversation's; a loaded policy indexes its rules by those two, and the usual check runs on the rules
of the matching entries only. Training, which changes the rules as it goes, is not indexed.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Text, Tuple

from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
from rasa.shared.core.domain import State
from rasa.shared.nlu.constants import ACTION_NAME, INTENT

# (previous action, intent) -> the rules whose last state names them; None: names none (any will do)
RuleIndex = Dict[Tuple[Optional[Text], Optional[Text]], List[Text]]


def named(sub_state: Any, key: Text) -> Optional[Text]:
    value = sub_state.get(key) if isinstance(sub_state, dict) else None
    return value if isinstance(value, str) and value and value != SHOULD_NOT_BE_SET else None


def index_rules(rule_keys: List[Text]) -> RuleIndex:
    index: RuleIndex = {}
    for key in rule_keys:
        last = RulePolicy._rule_key_to_state(key)[-1]
        if last.get(PREVIOUS_ACTION):
            entry = (named(last.get(PREVIOUS_ACTION), ACTION_NAME), named(last.get(USER), INTENT))
        else:  # a conversation's first state: it is checked apart from its intent
            entry = (None, None)
        index.setdefault(entry, []).append(key)
    return index


def candidates(index: RuleIndex, state: State) -> List[Text]:
    """The rules that may apply to a conversation whose last state is `state`."""
    action, intent = named(state.get(PREVIOUS_ACTION), ACTION_NAME), named(state.get(USER), INTENT)
    found: List[Text] = []
    for entry_action in {action, None}:
        for entry_intent in {intent, None}:
            found += index.get((entry_action, entry_intent), [])
    return found


def get_possible_keys(self: RulePolicy, lookup: Dict[Text, Text], states: List[State]) -> Set[Text]:
    """What Rasa's `RulePolicy._get_possible_keys` finds, starting from the indexed candidates."""
    indexes: List[Tuple[Dict[Text, Text], RuleIndex]] = getattr(self, "_rule_indexes", [])
    index = next((index for indexed, index in indexes if indexed is lookup), None)
    if index is None or not states:
        return RULE_POLICYS_OWN_LOOKUP(self, lookup, states)
    possible_keys = set(candidates(index, states[-1]))
    for i, state in enumerate(reversed(states)):
        possible_keys = {key for key in possible_keys if self._is_rule_applicable(key, i, state)}
    return possible_keys


def load(cls: type, *args: Any, **kwargs: Any) -> RulePolicy:
    policy = RULE_POLICYS_OWN_LOAD(cls, *args, **kwargs)
    policy._rule_indexes = [  # type: ignore[attr-defined]
        (policy.lookup[name], index_rules(list(policy.lookup[name])))
        for name in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH)
        if isinstance(policy.lookup.get(name), dict)
    ]
    return policy


RULE_POLICYS_OWN_LOOKUP = RulePolicy._get_possible_keys
RULE_POLICYS_OWN_LOAD = RulePolicy.load.__func__  # type: ignore[attr-defined]


def install() -> None:
    RulePolicy._get_possible_keys = get_possible_keys  # type: ignore[method-assign]
    RulePolicy.load = classmethod(load)  # type: ignore[assignment,method-assign]
