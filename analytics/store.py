"""Events in, facts out, in the business database.

`ingest` keeps each broker event once (by a digest of the conversation id and the whole event), so a
stream read twice, or resent by RabbitMQ after a crash, adds nothing; `rebuild` folds a conversation's
kept events, together with its live chats, tickets and ratings, into its facts and replaces the old
ones. Both run in the caller's transaction: a batch of events and the facts they change are committed
together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from analytics.facts import Handoff, conversation_facts
from business import clock
from business.services.live_chat import ACCEPTED, TAKEN_OVER, TRANSFERRED
from business.store.models import (
    AnalyticsCursor,
    AnalyticsEvent,
    ConversationFact,
    LiveChat,
    LiveChatEvent,
    Ticket,
    WebchatRating,
)

# The web chat stores its ratings' times in UTC, the rest of the store in Shanghai time.
WEBCHAT_RATING_OFFSET = timedelta(hours=8)


def digest(conversation_id: str, event: Mapping[str, Any]) -> str:
    # ASCII JSON: a message may hold half an emoji (a lone surrogate), which UTF-8 cannot encode.
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(f"{conversation_id}\n{canonical}".encode("utf-8", "surrogatepass")).hexdigest()


def ingest(session: Session, batch: Iterable[Tuple[str, Mapping[str, Any]]]) -> Set[str]:
    """Keeps the events not kept yet; returns the conversations that got new ones."""
    rows: Dict[str, Dict[str, Any]] = {}
    for conversation_id, event in batch:
        if not conversation_id or not isinstance(event, Mapping) or not event.get("event"):
            continue
        event = {key: value for key, value in event.items() if key != "sender_id"}
        key = digest(conversation_id, event)
        rows[key] = {
            "digest": key,
            "conversation_id": conversation_id[:128],
            "timestamp": float(event.get("timestamp") or 0),
            "kind": str(event["event"])[:32],
            "data": json.dumps(event),
        }
    if not rows:
        return set()
    known = set(
        session.execute(select(AnalyticsEvent.digest).where(AnalyticsEvent.digest.in_(list(rows)))).scalars()
    )
    new = [row for key, row in rows.items() if key not in known]
    if new:
        session.execute(_insert_once(session), new)
    return {row["conversation_id"] for row in new}


def _insert_once(session: Session) -> Any:
    """An insert that leaves an event another reader kept meanwhile (`make report` drains the SQL
    broker while `make run`'s consumer does too)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(AnalyticsEvent).on_conflict_do_nothing(index_elements=["digest"])
    if dialect == "postgresql":
        return postgresql.insert(AnalyticsEvent).on_conflict_do_nothing(index_elements=["digest"])
    return insert(AnalyticsEvent)


CHUNK = 500  # conversations read per query (SQLite allows 999 bound values)


def _grouped(rows: Iterable[Tuple[Any, ...]]) -> Dict[str, List[Tuple[Any, ...]]]:
    found: Dict[str, List[Tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        found[row[0]].append(row[1:])
    return found


def rebuild(session: Session, conversation_ids: Iterable[str]) -> int:
    """Replaces the facts of these conversations with what their events say now; returns how many."""
    built = 0
    now = clock.now().replace(tzinfo=None)
    ids = sorted(set(conversation_ids))
    transfers = (
        select(func.count(LiveChatEvent.id))
        .where(LiveChatEvent.chat_id == LiveChat.id, LiveChatEvent.kind == TRANSFERRED)
        .correlate(LiveChat)
        .scalar_subquery()
    )
    # The wait ends, and the handling begins, when the first agent accepts: a transfer sets the live
    # chat's accepted_at again (or clears it, back in a queue), which would count the first agent's
    # time as waiting and leave it out of the handle time.
    first_accepted = func.coalesce(
        select(func.min(LiveChatEvent.at))
        .where(LiveChatEvent.chat_id == LiveChat.id, LiveChatEvent.kind.in_((ACCEPTED, TAKEN_OVER)))
        .correlate(LiveChat)
        .scalar_subquery(),
        LiveChat.accepted_at,
    )
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        events = _grouped(
            session.execute(
                select(AnalyticsEvent.conversation_id, AnalyticsEvent.data)
                .where(AnalyticsEvent.conversation_id.in_(chunk))
                .order_by(AnalyticsEvent.conversation_id, AnalyticsEvent.timestamp, AnalyticsEvent.id)
            )
        )
        chats = _grouped(
            session.execute(
                select(
                    LiveChat.conversation_id,
                    LiveChat.queued_at,
                    first_accepted,
                    LiveChat.closed_at,
                    LiveChat.status,
                    LiveChat.reason,
                    LiveChat.skill_group,
                    LiveChat.agent_id,
                    LiveChat.result,
                    LiveChat.rating,
                    transfers,
                )
                .where(LiveChat.conversation_id.in_(chunk))
                .order_by(LiveChat.queued_at)
            )
        )
        tickets = _grouped(
            session.execute(
                select(Ticket.conversation_id, Ticket.created_at).where(Ticket.conversation_id.in_(chunk))
            )
        )
        ratings = _grouped(
            session.execute(
                select(WebchatRating.conversation_id, WebchatRating.created_at, WebchatRating.score)
                .where(WebchatRating.conversation_id.in_(chunk))
                .order_by(WebchatRating.id)
            )
        )
        rows: List[Dict[str, Any]] = []
        for conversation_id in chunk:
            facts = conversation_facts(
                conversation_id,
                [json.loads(data) for (data,) in events.get(conversation_id, [])],
                [Handoff(*chat) for chat in chats.get(conversation_id, [])],
                [at for (at,) in tickets.get(conversation_id, [])],
                [(at + WEBCHAT_RATING_OFFSET, score) for at, score in ratings.get(conversation_id, [])],
            )
            rows.extend({**fact.row(), "built_at": now} for fact in facts)
        session.execute(delete(ConversationFact).where(ConversationFact.conversation_id.in_(chunk)))
        if rows:
            session.execute(insert(ConversationFact), rows)
        built += len(rows)
    return built


def stale(session: Session) -> Set[str]:
    """Conversations whose live chat, ticket or rating changed after their facts were built: an agent
    accepts, transfers, closes or is rated without a broker event of the conversation. Reads every
    conversation's facts: `ChangeWatch` does it once, then looks only at what changed since."""
    built = (
        select(ConversationFact.conversation_id, func.max(ConversationFact.built_at).label("built_at"))
        .group_by(ConversationFact.conversation_id)
        .subquery()
    )
    changed: Set[str] = set()
    changed.update(
        session.execute(
            select(LiveChat.conversation_id)
            .join(built, built.c.conversation_id == LiveChat.conversation_id)
            .where(
                or_(
                    LiveChat.queued_at > built.c.built_at,
                    LiveChat.accepted_at > built.c.built_at,
                    LiveChat.closed_at > built.c.built_at,
                )
            )
        ).scalars()
    )
    # A transfer to a group's queue leaves none of those times (accepted_at goes back to none).
    changed.update(
        session.execute(
            select(LiveChat.conversation_id)
            .join(LiveChatEvent, LiveChatEvent.chat_id == LiveChat.id)
            .join(built, built.c.conversation_id == LiveChat.conversation_id)
            .where(LiveChatEvent.kind == TRANSFERRED, LiveChatEvent.at > built.c.built_at)
        ).scalars()
    )
    changed.update(
        session.execute(
            select(Ticket.conversation_id)
            .join(built, built.c.conversation_id == Ticket.conversation_id)
            .where(Ticket.created_at > built.c.built_at)
        ).scalars()
    )
    rated = session.execute(
        select(WebchatRating.conversation_id, WebchatRating.created_at, built.c.built_at).join(
            built, built.c.conversation_id == WebchatRating.conversation_id
        )
    )
    changed.update(conversation for conversation, at, when in rated if at + WEBCHAT_RATING_OFFSET > when)
    return changed


# A look for changes reaches back this far before the previous one: an agent's transaction stamps its
# rows with the time it began (the business clock) but may commit after the look (a busy SQLite file
# waits up to 15 s, a PostgreSQL commit can stall), and processes' clocks differ a little. Minutes,
# not seconds: going back further only reads a few more recent rows.
LATE_COMMIT_MARGIN = timedelta(minutes=5)

# One change: which time of which row, and the time ("live_chats.closed_at", "12", its value).
ChangeKey = Tuple[str, str, datetime]


def changes_since(session: Session, since: datetime) -> Dict[ChangeKey, str]:
    """Each change to live chats (their transfers too), tickets and web chat ratings timed at or after
    `since` (Shanghai time), with its conversation."""
    found: Dict[ChangeKey, str] = {}
    # A question per time, each through its own index (three ranges joined by OR read the whole table).
    for column in (LiveChat.queued_at, LiveChat.accepted_at, LiveChat.closed_at):
        chats = session.execute(select(LiveChat.id, LiveChat.conversation_id, column).where(column >= since))
        for chat_id, conversation_id, at in chats:
            found[(f"live_chats.{column.key}", str(chat_id), at)] = conversation_id
    transfers = session.execute(
        select(LiveChatEvent.id, LiveChat.conversation_id, LiveChatEvent.at)
        .join(LiveChat, LiveChat.id == LiveChatEvent.chat_id)
        .where(LiveChatEvent.kind == TRANSFERRED, LiveChatEvent.at >= since)
    )
    for event_id, conversation_id, at in transfers:
        found[("live_chat_events.at", str(event_id), at)] = conversation_id
    tickets = session.execute(
        select(Ticket.id, Ticket.conversation_id, Ticket.created_at).where(
            Ticket.conversation_id.is_not(None), Ticket.created_at >= since
        )
    )
    for ticket_id, conversation_id, at in tickets:
        found[("tickets.created_at", ticket_id, at)] = conversation_id
    ratings = session.execute(
        select(WebchatRating.id, WebchatRating.conversation_id, WebchatRating.created_at).where(
            WebchatRating.created_at >= since - WEBCHAT_RATING_OFFSET
        )
    )
    for rating_id, conversation_id, at in ratings:
        found[("webchat_ratings.created_at", str(rating_id), at + WEBCHAT_RATING_OFFSET)] = conversation_id
    return found


@dataclass(frozen=True)
class Changes:
    conversations: Set[str]  # whose facts are to be rebuilt
    seen: FrozenSet[ChangeKey]
    looked_at: datetime


class ChangeWatch:
    """The conversations whose live chat, ticket or rating changed, looked for again and again (the
    consumer's refresh every few seconds). The first look compares every conversation's facts with
    the business store (`stale`): agents may have worked while the consumer was stopped. Each later
    look reads only the changes timed since the previous look less LATE_COMMIT_MARGIN and takes each
    of them once, so a change committed late with an older time is still seen, and not taken again
    at every look. (The second look takes those of the margin before the first once more, which the
    first look's comparison with the facts' build time could have missed the same way.)"""

    def __init__(self) -> None:
        self.looked_at: Optional[datetime] = None
        self.taken: Set[ChangeKey] = set()

    def look(self, session: Session) -> Changes:
        now = clock.now()
        if self.looked_at is None:
            return Changes(stale(session), frozenset(), now)
        found = changes_since(session, self.looked_at - LATE_COMMIT_MARGIN)
        new = {conversation for key, conversation in found.items() if key not in self.taken}
        return Changes(new, frozenset(found), now)

    def taken_up(self, changes: Changes) -> None:
        """The facts of these changes are committed: later looks start from this one."""
        self.looked_at = changes.looked_at
        reach = changes.looked_at - LATE_COMMIT_MARGIN  # nothing older is read again
        self.taken = {key for key in self.taken | changes.seen if key[2] >= reach}


def position(session: Session, source: str) -> int:
    cursor = session.get(AnalyticsCursor, source)
    return int(cursor.position) if cursor is not None else 0


def advance(session: Session, source: str, to: int) -> None:
    cursor = session.get(AnalyticsCursor, source)
    if cursor is None:
        session.add(AnalyticsCursor(source=source, position=to))
    else:
        cursor.position = to


def conversations(session: Session) -> List[str]:
    return list(session.execute(select(AnalyticsEvent.conversation_id).distinct()).scalars())
