"""What each web conversation showed, and its satisfaction ratings.

Kept in the business database (same engine as `business.store`, so
DATABASE_URL applies) in two tables of their own, created on first use: the
transcript is what reload/reconnect replays, exactly as the widget drew it, and
survives a Rasa restart.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, List, Optional

from sqlalchemy import Column, DateTime, Integer, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import declarative_base

from business.privacy import mask_value
from business.store.db import get_engine, session_scope

Base = declarative_base()


class WebchatMessage(Base):
    __tablename__ = "webchat_messages"

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(80), nullable=False, index=True)
    message_id = Column(String(32), nullable=False, unique=True)
    role = Column(String(8), nullable=False)  # user | bot | event
    body = Column(Text, nullable=False)  # the widget message as JSON
    created_at = Column(DateTime, nullable=False, default=dt.datetime.utcnow)


class WebchatRating(Base):
    __tablename__ = "webchat_ratings"

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(80), nullable=False, index=True)
    customer_id = Column(String(16))
    score = Column(Integer, nullable=False)
    comment = Column(Text)
    created_at = Column(DateTime, nullable=False, default=dt.datetime.utcnow)


class Transcripts:
    """Blocking store calls; the channel runs them in a worker thread."""

    def __init__(self, engine: Optional[Engine] = None) -> None:
        self.engine = engine or get_engine()
        Base.metadata.create_all(self.engine)

    def append(self, conversation_id: str, message: Dict[str, Any]) -> None:
        with session_scope(self.engine) as session:
            session.add(
                WebchatMessage(
                    conversation_id=conversation_id,
                    message_id=message["id"],
                    role=message["role"],
                    # Kept for reloads and for the agents: personal data masked, as in the tracker store.
                    body=json.dumps(mask_value(message), ensure_ascii=False),
                )
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
