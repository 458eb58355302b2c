"""Rasa building conversations: each slot copied directly, each event's class found by name at once.

Rasa builds a conversation (`DialogueStateTracker`) many times a turn: when it reads one from the
store, to copy it before every action, and for every policy, which replays the events on a fresh
copy to see each earlier state. Every build copies the domain's 25 slots with `copy.copy`, which
goes through the pickle protocol (`__reduce_ex__`, `copyreg.__newobj__`, `_reconstruct`): in a py-spy
profile of the busy Rasa process (`make run`, the load of scripts/locustfile.py) those slot copies
were 4.3 % of all samples. A slot is a plain object, so a new one of its class holding the same
attributes is what `copy.copy` makes; here a slot copies itself that way.

Every event read (from the store, from the action server) is given its class by `resolve_by_type`,
which walks all of `Event`'s subclasses for each one: 1.3 % of the samples. Here the name to class
table is built once, and again whenever a subclass of `Event` is defined later, so it finds what
the walk finds.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text, Type

import rasa.shared.utils.common
from rasa.shared.core.events import Event
from rasa.shared.core.slots import Slot


def copy_slot(slot: Slot) -> Slot:
    """What `copy.copy` makes of a slot (a new object of its class with the same attributes)."""
    copied = slot.__class__.__new__(slot.__class__)
    copied.__dict__.update(slot.__dict__)
    return copied


# type name -> the first class Rasa's walk finds with that name; None: build it (again)
_event_classes: Optional[Dict[Text, Type[Event]]] = None


def event_classes() -> Dict[Text, Type[Event]]:
    global _event_classes
    if _event_classes is None:
        table: Dict[Text, Type[Event]] = {}
        for cls in rasa.shared.utils.common.all_subclasses(Event):
            table.setdefault(cls.type_name, cls)
        _event_classes = table
    return _event_classes


def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """Rasa's `Event.resolve_by_type`, looked up in the table."""
    found = event_classes().get(type_name)
    if found is not None:
        return found
    return RASAS_OWN_RESOLVE_BY_TYPE(type_name, default)  # its answer (or error) for unknown names


def forget_event_classes() -> None:
    global _event_classes
    _event_classes = None


def event_subclass_defined(cls: Any, **kwargs: Any) -> None:
    """A new subclass of `Event` may come first in Rasa's walk for its name: the table is built again."""
    forget_event_classes()
    super(Event, cls).__init_subclass__(**kwargs)


RASAS_OWN_RESOLVE_BY_TYPE = Event.resolve_by_type


def install() -> None:
    Slot.__copy__ = copy_slot  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign,assignment]
    Event.__init_subclass__ = classmethod(event_subclass_defined)  # type: ignore[assignment,method-assign]
