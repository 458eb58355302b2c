"""Rasa's check of every action server response, with its schema checked once instead of each time.

Rasa checks each response against its JSON schema with `jsonschema.validate`, which first checks the
schema itself against the JSON Schema meta-schema, on every call. In a py-spy profile of the busy
Rasa process (`make run`, the load of scripts/locustfile.py) that was 30 % of all its samples, more
than understanding the messages, predicting the actions and storing the conversations together.
Here the same schema is checked once, when the validator is built; a response is accepted or refused
exactly as before, with the same error.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict

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


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """What Rasa's `RemoteAction._validate_action_result` does, with the validator built once."""
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
