"""Runs after the other end-to-end tests (its name sorts last), when every journey of the suite has
gone through the product: identity checks with a phone number and an ID tail on every channel,
returns, handoffs, the workspace. What the conversation stores hold and the processes logged must
carry no demo customer's phone number or ID tail, nor a card or ID number a customer typed, in clear:
Rasa's tracker store, its event broker's stream (what the workspace reads), the web chat's
transcripts, the tickets (summary, conversation context, notes such as a call-back's), and the logs."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Iterator, Tuple

from sqlalchemy import text

from business.store.seed import load_demo_data


def rows(db: Path, query: str) -> Iterator[str]:
    with sqlite3.connect(db) as connection:
        yield from (row[0] or "" for row in connection.execute(query))


# Typed by a customer below, on top of what the suite said: a bank card (Luhn-valid) and an ID number.
CARD, ID_NUMBER = "6222020200112233446", "440304198510152312"


def test_no_personal_number_rests_in_clear(e2e_stack, store, chat):
    sender = chat.new_sender()
    chat.say(sender, f"退款打到我的卡{CARD}就行")
    chat.say(sender, f"我的身份证号是{ID_NUMBER}，帮我查下会员")
    customers = load_demo_data()["customers"]
    numbers = [c["phone"] for c in customers] + [CARD, ID_NUMBER]
    tails = [re.compile(rf"(?<![0-9A-Za-z.:]){c['id_card_last4']}(?![0-9A-Za-z])") for c in customers]
    run = e2e_stack.run_dir
    places: list[Tuple[str, str]] = []
    places += [("tracker store", data) for data in rows(run / "tracker.db", "SELECT data FROM events")]
    places += [("event broker", data) for data in rows(run / "events.db", "SELECT data FROM events")]
    with store() as session:
        places += [
            ("web chat transcript", body)
            for (body,) in session.execute(text("SELECT body FROM webchat_messages"))
        ]
        places += [
            ("ticket context", f"{summary}\n{context or ''}")
            for (summary, context) in session.execute(text("SELECT summary, context FROM tickets"))
        ]
        places += [("ticket note", n) for (n,) in session.execute(text("SELECT note FROM ticket_events"))]
    places += [
        (f"log {log.name}", log.read_text(encoding="utf-8", errors="replace")) for log in run.glob("*.log")
    ]
    assert sum(1 for where, _ in places if where == "tracker store") > 100  # the suite did talk

    leaks = [
        (where, found)
        for where, content in places
        for found in [n for n in numbers if n in content] + [t.pattern for t in tails if t.search(content)]
    ]
    assert leaks == []
