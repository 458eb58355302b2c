"""Sealed personal data: opens only with its key and for its purpose; without a key nothing is kept
in clear and the masked form still shows."""

from __future__ import annotations

import pytest

from business import sealing
from business.services.callbacks import CallbackNumbers, masked_number
from business.services.tickets import TicketService
from business.store.db import session_scope
from business.store.models import CallbackNumber
from tests.conftest import NOW

KEY = "11" * 32
OTHER_KEY = "22" * 32


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(sealing.KEY_ENV, KEY)


def test_a_sealed_value_opens_with_its_key_and_purpose_only(key, monkeypatch):
    sealed = sealing.seal("+8613800138001", "callback_number")
    assert "13800138001" not in sealed and sealed.startswith("v1:")
    assert sealing.seal("+8613800138001", "callback_number") != sealed  # a fresh nonce each time
    assert sealing.unseal(sealed, "callback_number") == "+8613800138001"
    with pytest.raises(sealing.SealingUnavailable):
        sealing.unseal(sealed, "export")
    monkeypatch.setenv(sealing.KEY_ENV, OTHER_KEY)
    with pytest.raises(sealing.SealingUnavailable, match="密钥"):
        sealing.unseal(sealed, "callback_number")


@pytest.mark.parametrize("damaged", ["v1:not base64!", "v1:AAAA", "v1:" + "A" * 40])
def test_a_damaged_seal_is_refused_like_one_that_does_not_open(key, damaged):
    with pytest.raises(sealing.SealingUnavailable):
        sealing.unseal(damaged, "callback_number")


@pytest.mark.parametrize("value", [None, "", "abc", "1234"])
def test_without_a_usable_key_nothing_is_sealed(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(sealing.KEY_ENV, raising=False)
    else:
        monkeypatch.setenv(sealing.KEY_ENV, value)
    assert not sealing.available()
    with pytest.raises(sealing.SealingUnavailable, match="XINGHE_DATA_KEY"):
        sealing.seal("+8613800138001", "callback_number")


@pytest.mark.parametrize(
    "number, shown",
    [
        ("+8613800138001", "138****8001"),
        ("13800138001", "138****8001"),
        ("01088886666", "010****6666"),
        ("anonymous", "anonymous"),
    ],
)
def test_a_call_back_number_is_shown_masked(number, shown):
    assert masked_number(number) == shown


def call_back_ticket() -> str:
    with session_scope() as session:
        return TicketService(session).open("handoff", "电话转人工未接通", NOW, conversation_id="CA1").id


def test_the_number_rests_sealed_and_is_revealed_in_clear(key, database_url):
    ticket = call_back_ticket()
    with session_scope() as session:
        assert CallbackNumbers(session).keep(ticket, "+8613800138001", NOW) == "138****8001"
    with session_scope() as session:
        row = session.get(CallbackNumber, ticket)
        assert row.masked == "138****8001" and "13800138001" not in row.sealed
        assert CallbackNumbers(session).reveal(ticket) == "+8613800138001"


def test_a_withheld_caller_id_is_not_kept(key, database_url):
    ticket = call_back_ticket()
    with session_scope() as session:
        assert CallbackNumbers(session).keep(ticket, "anonymous", NOW) == "anonymous"
        assert CallbackNumbers(session).masked(ticket) is None


def test_without_a_key_only_the_masked_number_is_kept(monkeypatch, database_url):
    monkeypatch.delenv(sealing.KEY_ENV, raising=False)
    ticket = call_back_ticket()
    with session_scope() as session:
        CallbackNumbers(session).keep(ticket, "+8613800138001", NOW)
    with session_scope() as session:
        assert session.get(CallbackNumber, ticket).sealed is None
        assert CallbackNumbers(session).masked(ticket) == "138****8001"
        with pytest.raises(sealing.SealingUnavailable):
            CallbackNumbers(session).reveal(ticket)
