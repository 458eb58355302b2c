"""Data stored before masking at rest (written here through Rasa's own, unmasked SQL tracker store,
as the product did then) is masked in place, the conversation still loads, a call-back number is
kept sealed for the reveal, and running it again changes nothing."""

from __future__ import annotations

import json
import time

from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from business.services.callbacks import CallbackNumbers
from business.services.tickets import TicketService
from business.store.db import session_scope
from business.store.models import WebchatMessage
from privacy.__main__ import main
from privacy.remask import Remasked, remask
from tests.conftest import NOW
from tests.privacy.conftest import files, held
from tests.tracker_stores import DOMAIN, masking_store

PHONE, ID_TAIL, CARD, CALLER = (
    "13312345678",
    "2817",
    "6222020200112233446",
    "+8613911112222",
)  # nobody's in the demo


async def test_what_an_older_version_stored_in_clear_is_masked_in_place(stores, tmp_path):
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    unmasked = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"), event_broker=broker)
    tracker = DialogueStateTracker("web:old", DOMAIN.slots)
    tracker.update(SlotSet("requested_slot", "phone_number", timestamp=time.time()))
    tracker.update(UserUttered(f"手机{PHONE}", {"name": "inform"}))
    tracker.update(SlotSet("phone_number", PHONE))
    tracker.update(SlotSet("requested_slot", "id_last4"))
    tracker.update(UserUttered(ID_TAIL, {"name": "inform"}))
    tracker.update(SlotSet("requested_slot", None))
    tracker.update(UserUttered(f"退到卡{CARD}"))
    await unmasked.save(tracker)
    with session_scope() as session:  # the web chat kept its transcript in clear then
        session.add(
            WebchatMessage(
                conversation_id="web:old",
                message_id="m1",
                role="user",
                body=json.dumps({"text": f"我的手机{PHONE}"}, ensure_ascii=False),
            )
        )
    with session_scope() as session:
        ticket = TicketService(session).open(
            "handoff", f"客户手机{PHONE}", NOW, conversation_id="CA-old", context=[{"text": f"卡号{CARD}"}]
        )
        TicketService(session).set_status(
            ticket, "open", f"电话转人工未接通（no-answer），请回电 {CALLER}", NOW
        )
        ticket_id = ticket.id
    before = files(tmp_path)
    assert all(held(clear, before) for clear in (PHONE, CARD, CALLER))  # the control

    done = remask(stores)
    assert done.tracker_events >= 4 and done.broker_events >= 4 and done.webchat_messages == 1
    assert (
        done.tickets == 1 and done.ticket_notes == 2 and done.callback_numbers == 1
    )  # opening note + call-back
    after = files(tmp_path)
    for clear in (PHONE, CARD, CALLER, "13911112222"):
        assert not held(clear, after), clear
    restored = await masking_store(f"sqlite:///{tmp_path / 'tracker.db'}").retrieve("web:old")
    assert [e.text for e in restored.events if isinstance(e, UserUttered)] == [
        "手机133****5678",
        "****",
        "退到卡***************3446",
    ]
    with session_scope() as session:
        assert CallbackNumbers(session).reveal(ticket_id) == CALLER
    assert remask(stores) == Remasked()  # nothing left to do


def test_the_command_remasks(stores, tmp_path, capsys):
    assert main(["--endpoints", str(tmp_path / "endpoints.yml"), "remask"]) == 0
    assert json.loads(capsys.readouterr().out)["tracker_events"] == 0
