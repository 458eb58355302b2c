"""The action server registers exactly what the domain names: no base class, nothing missing."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from tests.actions.conftest import DOMAIN


def test_every_custom_action_of_the_domain_is_registered_and_nothing_else():
    executor = ActionExecutor()
    executor.register_package("actions")  # fails on a class that cannot be instantiated
    custom = {name for name in DOMAIN["actions"] if name.startswith(("action_", "validate_"))}
    assert custom == set(executor.actions)
