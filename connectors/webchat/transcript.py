"""What each web conversation showed, and its satisfaction ratings.

Kept in the business database (same engine as `business.store`, so
DATABASE_URL applies) in two tables of their own (`business.store.models`, created
by the migrations like every table): the transcript is what reload/reconnect
replays, exactly as the widget drew it, and survives a Rasa restart.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from business.privacy import mask_value
from business.store.db import get_engine, session_scope
from business.store.models import WebchatMessage, WebchatRating

APPEND = insert(WebchatMessage.__table__)


class Transcripts:
    """Blocking store calls; the channel runs them in a worker thread."""

    def __init__(self, engine: Optional[Engine] = None) -> None:
        self.engine = engine or get_engine()

    def append(self, conversation_id: str, message: Dict[str, Any]) -> None:
        # One statement compiled once, not an ORM session: every message of every web turn comes here
        # (with the ORM it took a third of Rasa's time when five customers chatted at once).
        with self.engine.begin() as connection:
            connection.execute(
                APPEND,
                {
                    "conversation_id": conversation_id,
                    "message_id": message["id"],
                    "role": message["role"],
                    # Kept for reloads and for the agents: personal data masked, as in the tracker store.
                    "body": json.dumps(mask_value(message), ensure_ascii=False),
                },
            )

    def recent(self, conversation_id: str, limit: int) -> List[Dict[str, Any]]:
        """The last `limit` messages, oldest first."""
        with session_scope(self.engine) as session:
            rows = (
                session.execute(
                    select(WebchatMessage.body)
                    .where(WebchatMessage.conversation_id == conversation_id)
                    .order_by(WebchatMessage.id.desc())
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        return [json.loads(body) for body in reversed(rows)]

    def rate(self, conversation_id: str, score: int, comment: str, customer_id: Optional[str]) -> None:
        with session_scope(self.engine) as session:
            session.add(
                WebchatRating(
                    conversation_id=conversation_id,
                    customer_id=customer_id,
                    score=score,
                    comment=comment or None,
                )
            )

    def ratings(self, conversation_id: str) -> List[WebchatRating]:
        with session_scope(self.engine) as session:
            return list(
                session.execute(
                    select(WebchatRating)
                    .where(WebchatRating.conversation_id == conversation_id)
                    .order_by(WebchatRating.id)
                ).scalars()
            )
