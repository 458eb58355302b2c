from sqlalchemy import select

from actions.identity import ActionSessionStart, ValidateVerifyIdentityForm
from business.store.models import Ticket
from tests.actions.conftest import make_tracker

FORM = "verify_identity_form"


def answer_id(id_last4, candidate="C001", failures=0, **kwargs):
    """The customer answers the ID-tail question; the phone they gave before belongs to `candidate`."""
    return make_tracker(
        id_last4,
        slots={
            "phone_number": "138****8001",
            "identity_candidate": candidate,
            "requested_slot": "id_last4",
            "verification_failures": failures,
        },
        extracted={"id_last4": id_last4},
        active_loop=FORM,
        **kwargs,
    )


def test_the_right_pair_verifies_and_greets_by_masked_name(run):
    result = run(ValidateVerifyIdentityForm(), answer_id("2817"))
    assert result.slots()["verified_customer_id"] == "C001"
    assert result.message("utter_identity_verified")["customer_name"] == "张*"
    assert result.slots()["requested_slot"] is None  # nothing more to ask


def test_a_wrong_pair_asks_again_and_counts(run):
    result = run(ValidateVerifyIdentityForm(), answer_id("0000"))
    # Both halves are cleared, so the form asks for the phone number again.
    assert result.slots() == {
        "phone_number": None,
        "identity_candidate": None,
        "id_last4": None,
        "verification_failures": 1,
    }
    assert result.message("utter_identity_mismatch")["attempts_left"] == 2


def test_third_failure_locks_files_a_ticket_and_ends_the_form(run, session):
    result = run(ValidateVerifyIdentityForm(), answer_id("0000", failures=2, sender_id="locked-conv"))
    slots = result.slots()
    assert slots["verification_failures"] == 3 and slots["requested_slot"] is None
    assert "verified_customer_id" not in slots
    ticket = session.execute(select(Ticket)).scalar_one()
    assert (ticket.category, ticket.priority, ticket.conversation_id) == ("identity", "high", "locked-conv")
    assert result.message("utter_identity_locked")["ticket_id"] == ticket.id == slots["identity_ticket_id"]


def test_a_locked_check_asks_nothing_in_the_same_session(run):
    tracker = make_tracker(
        "我要退款",
        intent="request_refund",
        slots={"verification_failures": 3, "identity_ticket_id": "TK20261122001"},
    )
    result = run(ValidateVerifyIdentityForm(), tracker)
    assert result.responses == ["utter_identity_locked"]
    assert result.slots() == {"requested_slot": None}


def test_an_already_verified_customer_is_not_asked_again(run):
    tracker = make_tracker("我要退款", intent="request_refund", slots={"verified_customer_id": "C001"})
    result = run(ValidateVerifyIdentityForm(), tracker)
    assert result.messages == [] and result.slots() == {"requested_slot": None}


def test_a_malformed_phone_gets_a_format_hint(run):
    tracker = make_tracker(
        "不知道",
        slots={"requested_slot": "phone_number"},
        extracted={"phone_number": "不知道"},
        active_loop=FORM,
    )
    result = run(ValidateVerifyIdentityForm(), tracker)
    assert result.responses == ["utter_invalid_phone_number"]
    assert result.slots()["phone_number"] is None


def test_a_phone_number_rests_masked_and_the_next_turn_knows_only_its_owner(run):
    tracker = make_tracker(
        "13800138001",
        slots={"requested_slot": "phone_number"},
        extracted={"phone_number": "13800138001"},
        active_loop=FORM,
    )
    slots = run(ValidateVerifyIdentityForm(), tracker).slots()
    assert (slots["phone_number"], slots["identity_candidate"]) == ("138****8001", "C001")


def test_a_malformed_id_tail_does_not_count_as_a_failure(run):
    result = run(ValidateVerifyIdentityForm(), answer_id("28"))
    assert result.responses == ["utter_invalid_id_last4"]
    assert "verification_failures" not in result.slots()


def session_start(metadata):
    return make_tracker("", intent="", slots={"session_started_metadata": metadata})


def test_a_session_vouched_for_by_the_channel_starts_verified(run):
    result = run(ActionSessionStart(), session_start({"verified_customer_id": "C001"}))
    assert [e["event"] for e in result.events] == ["session_started", "slot", "action"]
    assert result.slots() == {"verified_customer_id": "C001"}
    assert result.events[-1]["name"] == "action_listen"


def test_an_unknown_or_missing_vouched_customer_starts_unverified(run):
    for metadata in ({"verified_customer_id": "C999"}, {"other": "x"}, None):
        result = run(ActionSessionStart(), session_start(metadata))
        assert [e["event"] for e in result.events] == ["session_started", "action"]


def test_a_store_failure_still_starts_the_session_unverified(run, monkeypatch):
    def store_down(*args, **kwargs):
        raise OSError("database is unavailable")

    monkeypatch.setattr("actions.identity.session_scope", store_down)
    result = run(ActionSessionStart(), session_start({"verified_customer_id": "C001"}))
    assert [e["event"] for e in result.events] == ["session_started", "action"]
