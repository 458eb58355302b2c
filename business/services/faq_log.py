"""What customers asked the knowledge base, kept so unanswered questions can be reviewed.

python -m business.services.faq_log [--days 7]   # the questions the KB could not answer
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import datetime, timedelta
from typing import List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from business import clock
from business.store.db import session_scope
from business.store.migrate import upgrade
from business.store.models import FaqQuestion


class FaqLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self,
        question: str,
        outcome: str,
        score: float,
        now: datetime,
        *,
        document_id: Optional[str] = None,
        conversation_id: Optional[str] = None,
        channel: Optional[str] = None,
    ) -> FaqQuestion:
        entry = FaqQuestion(
            asked_at=now,
            question=question,
            outcome=outcome,
            score=score,
            document_id=document_id,
            conversation_id=conversation_id,
            channel=channel,
        )
        self.session.add(entry)
        return entry

    def unanswered(self, since: datetime, until: Optional[datetime] = None) -> List[Tuple[str, int]]:
        """Questions not answered outright from `since` (up to `until`), most frequent first."""
        asked = select(FaqQuestion.question).where(
            FaqQuestion.asked_at >= since, FaqQuestion.outcome != "answered"
        )
        if until is not None:
            asked = asked.where(FaqQuestion.asked_at < until)
        questions = self.session.execute(asked).scalars()
        return Counter(questions).most_common()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="List the questions the knowledge base could not answer.")
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args(argv)
    upgrade()
    with session_scope() as session:
        rows = FaqLog(session).unanswered(clock.now() - timedelta(days=args.days))
    for question, count in rows:
        print(f"{count:4d}  {question}")
    print(f"{len(rows)} distinct unanswered questions in the last {args.days} days")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
