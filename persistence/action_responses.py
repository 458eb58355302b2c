"""Rasa's check of every action server response, with its schema checked once instead of each time.

Rasa checks each response against its JSON schema with `jsonschema.validate`, which first checks the
schema itself against the JSON Schema meta-schema, on every call. In a py-spy profile of the busy
Rasa process (`make run`, the load of scripts/locustfile.py) that was 30 % of all its samples, more
than understanding the messages, predicting the actions and storing the conversations together.
Here the same schema is checked once, when the validator is built; a response is accepted or refused
exactly as before, with the same error.

Each event is also checked against the one kind it names instead of all 23: Rasa's schema requires
an event to be exactly one of 23 kinds (`oneOf`), each fixing `event` to its own name, so only the
kind named can match, and checking all 23 (an error object built for each miss) was most of the
check's time. An answer this finds wrong is checked again Rasa's way, for Rasa's error.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Tuple

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def response_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    kind = validator_for(schema)
    kind.check_schema(schema)
    return kind(schema)


@lru_cache(maxsize=1)
def per_kind_validators() -> Tuple[Validator, Dict[str, Validator]]:
    """A validator of the answer with the events' kinds left out, and one per kind of event."""
    schema = RemoteAction.action_response_format_spec()
    event_schema = schema["properties"]["events"]["items"]
    kinds: Dict[str, Validator] = {}
    for kind_schema in event_schema["oneOf"]:
        name = kind_schema["properties"]["event"]["const"]
        assert name not in kinds, f"two kinds of event named {name}"
        kinds[name] = validator_for(kind_schema)(kind_schema)
    shape = {key: value for key, value in event_schema.items() if key != "oneOf"}
    answer = {**schema, "properties": {**schema["properties"], "events": {"type": "array", "items": shape}}}
    return validator_for(answer)(answer), kinds


def passes(result: Any) -> bool:
    """Whether Rasa's check accepts the answer, each event checked against the kind it names."""
    answer, kinds = per_kind_validators()
    if not answer.is_valid(result):
        return False
    for event in result.get("events") or []:
        kind = kinds.get(event["event"])
        if kind is None or not kind.is_valid(event):
            return False
    return True


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """What Rasa's `RemoteAction._validate_action_result` does, with the validator built once."""
    if passes(result):
        return True
    error = best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the "
        f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
