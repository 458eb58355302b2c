"""Conversations built with the direct slot copies and the event class table hold what Rasa's own
copying and lookup give: every slot of the product's domain, every kind of event, names Rasa does not
know, and a kind of event defined after the table was built."""

from __future__ import annotations

import copy
import gc
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import rasa.shared.utils.common
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker

import persistence.tracker_store  # noqa: F401 - installs both, as in every Rasa process of the product
from persistence import tracker_building
from persistence.tracker_building import RASAS_OWN_RESOLVE_BY_TYPE

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))


@contextmanager
def rasas_own_slot_copies() -> Iterator[None]:
    """Slots copied by `copy.copy` as Rasa has it, through the pickle protocol."""
    del Slot.__copy__  # type: ignore[attr-defined]
    try:
        yield
    finally:
        Slot.__copy__ = tracker_building.copy_slot  # type: ignore[attr-defined]


def test_the_product_copies_slots_directly_and_finds_event_classes_in_the_table() -> None:
    assert Slot.__copy__ is tracker_building.copy_slot  # type: ignore[attr-defined]
    assert Event.resolve_by_type is tracker_building.resolve_by_type


@pytest.mark.parametrize("slot", DOMAIN.slots, ids=lambda slot: f"{slot.name} ({slot.type_name})")
def test_a_copied_slot_is_what_copy_copy_made_and_stands_apart(slot: Slot) -> None:
    slot.value = ["a list", "the copy shares"] if slot.type_name == "any" else slot.initial_value
    copied = copy.copy(slot)
    with rasas_own_slot_copies():
        reference = copy.copy(slot)
    assert type(copied) is type(reference) is type(slot)
    assert vars(copied) == vars(reference) == vars(slot)
    assert all(copied.__dict__[key] is slot.__dict__[key] for key in vars(slot))  # shallow, as copy.copy
    copied.value = "changed in the copy"
    assert slot.value != "changed in the copy"


def test_a_conversation_built_from_events_has_the_same_slots_as_rasas() -> None:
    events = [
        ActionExecuted("action_listen"),
        UserUttered("查订单 XH2611010001", {"name": "order_status", "confidence": 1.0}),
        SlotSet("order_id", "XH2611010001"),
        SlotSet("verified_customer_id", "C001"),
        ActionExecuted("action_listen"),
    ]
    tracker = DialogueStateTracker.from_events("someone", events, DOMAIN.slots)
    copied = tracker.copy()
    with rasas_own_slot_copies():
        reference = DialogueStateTracker.from_events("someone", events, DOMAIN.slots).copy()
    assert copied.current_slot_values() == reference.current_slot_values()
    assert copied.get_slot("order_id") == "XH2611010001"
    assert copied.past_states(DOMAIN) == reference.past_states(DOMAIN)


def every_event_name() -> Iterator[str]:
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        yield cls.type_name


@pytest.mark.parametrize("name", sorted(set(every_event_name())) + ["topic", "no_such_event"])
@pytest.mark.parametrize("default", [None, SlotSet])
def test_an_event_name_resolves_to_the_class_rasas_walk_finds(name: str, default: Any) -> None:
    try:
        expected: Any = RASAS_OWN_RESOLVE_BY_TYPE(name, default)
    except ValueError as error:
        with pytest.raises(ValueError, match=str(error)):
            Event.resolve_by_type(name, default)
        return
    assert Event.resolve_by_type(name, default) is expected


def test_events_read_back_from_their_dicts_are_the_same_events() -> None:
    tracker = DialogueStateTracker.from_events(
        "someone",
        [ActionExecuted("action_listen"), UserUttered("你好", {"name": "greet", "confidence": 1.0})],
        DOMAIN.slots,
    )
    dicts: List[Dict[str, Any]] = [event.as_dict() for event in tracker.events]
    assert [Event.from_parameters(d) for d in dicts] == list(tracker.events)


def test_the_table_is_built_once_not_walked_for_every_event(monkeypatch: pytest.MonkeyPatch) -> None:
    Event.resolve_by_type("slot")  # the table exists
    walks: List[Any] = []
    walk = rasa.shared.utils.common.all_subclasses
    monkeypatch.setattr(
        rasa.shared.utils.common, "all_subclasses", lambda cls: walks.append(cls) or walk(cls)
    )
    for _ in range(100):
        assert Event.resolve_by_type("user") is UserUttered
    assert walks == []


def define_a_bot_event_and_resolve() -> Tuple[bool, bool]:
    """Whether Rasa's walk and the table each find a direct subclass of `Event` named "bot", defined
    now (Rasa's walk lists `Event`'s direct subclasses before their own, and `BotUttered` is not one).
    Nothing outside refers to it afterwards, so Rasa forgets it once it is collected."""

    class LaterBotEvent(Event):
        type_name = "bot"

        def __eq__(self, other: Any) -> bool:
            return self is other

        def as_story_string(self) -> None:
            return None

    return RASAS_OWN_RESOLVE_BY_TYPE("bot") is LaterBotEvent, Event.resolve_by_type("bot") is LaterBotEvent


def test_a_kind_of_event_defined_later_is_found_as_rasas_walk_finds_it() -> None:
    assert Event.resolve_by_type("bot") is BotUttered  # the table exists
    try:
        assert define_a_bot_event_and_resolve() == (True, True)
    finally:  # the other tests read "bot" events
        tracker_building.forget_event_classes()
        gc.collect()
    assert Event.resolve_by_type("bot") is RASAS_OWN_RESOLVE_BY_TYPE("bot") is BotUttered
