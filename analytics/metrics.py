"""The service's figures, computed from conversation facts with the definitions of docs/analytics.md.

Everything here is arithmetic on `Fact`-shaped rows (analytics.facts), so each definition is tested on
hand-built facts. A rate over nothing is None (shown as "—"), never 0.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

CONTAINMENT_WINDOW = timedelta(hours=24)
FCR_WINDOW = timedelta(days=7)
SATISFIED = (4, 5)
LEFT_THE_QUEUE = ("cancelled", "expired")

Row = Mapping[str, Any]


def rate(part: float, whole: float) -> Optional[float]:
    return part / whole if whole else None


def average(values: Iterable[Optional[float]]) -> Optional[float]:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def person(row: Row) -> str:
    """Who the customer is: the verified customer when known, else the channel's sender id."""
    return str(row.get("customer_id") or row["conversation_id"])


def repeat_contacts(rows: Sequence[Row], window: timedelta) -> Dict[str, bool]:
    """For each conversation (by key): did the same person start another conversation on the same topic
    within `window` after it ended? Conversations without a topic never count as repeated."""
    by_person: Dict[Tuple[str, str], List[Row]] = defaultdict(list)
    for row in rows:
        if row.get("topic"):
            by_person[(person(row), str(row["topic"]))].append(row)
    repeated: Dict[str, bool] = {str(row["key"]): False for row in rows}
    for same in by_person.values():
        same.sort(key=lambda row: row["started_at"])
        for index, row in enumerate(same):
            for other in same[index + 1 :]:  # started later, in order: stop past the window
                if other["started_at"] > row["ended_at"] + window:
                    break
                if other["started_at"] >= row["ended_at"]:
                    repeated[str(row["key"])] = True
                    break
    return repeated


@dataclass
class Summary:
    """The headline figures of a set of conversations."""

    conversations: int
    customer_messages: int
    containment: Optional[float]
    handoff_rate: Optional[float]
    fcr: Optional[float]
    csat: Optional[float]
    rating_coverage: Optional[float]
    aht_s: Optional[float]
    first_response_s: Optional[float]
    wait_s: Optional[float]
    queue_abandonment: Optional[float]
    transfer_rate: Optional[float]
    form_abandonment: Optional[float]
    fallback_rate: Optional[float]
    kb_not_sure_rate: Optional[float]


def summarise(
    rows: Sequence[Row], repeated_24h: Mapping[str, bool], repeated_7d: Mapping[str, bool]
) -> Summary:
    """The figures of these facts (their `intents` already parsed)."""
    handoffs = [row for row in rows if row["handed_off"]]
    rated = [row["rating"] for row in rows if row.get("rating") is not None]
    topical = [row for row in rows if row.get("topic")]
    bot_messages_read = sum(sum(row["intents"].values()) for row in rows)
    kb = sum(row["kb_answered"] + row["kb_clarified"] + row["kb_not_sure"] for row in rows)
    forms = sum(row["forms_started"] for row in rows)
    return Summary(
        conversations=len(rows),
        customer_messages=sum(row["customer_messages"] for row in rows),
        containment=rate(
            sum(not row["handed_off"] and not repeated_24h.get(str(row["key"]), False) for row in rows),
            len(rows),
        ),
        handoff_rate=rate(len(handoffs), len(rows)),
        fcr=rate(sum(not repeated_7d.get(str(row["key"]), False) for row in topical), len(topical)),
        csat=rate(sum(score in SATISFIED for score in rated), len(rated)),
        rating_coverage=rate(len(rated), len(rows)),
        aht_s=average(row.get("handle_s") for row in handoffs),
        first_response_s=average(row.get("first_response_s") for row in handoffs),
        wait_s=average(row.get("wait_s") for row in handoffs),
        queue_abandonment=rate(
            sum(
                row.get("handoff_status") in LEFT_THE_QUEUE and row.get("wait_s") is None for row in handoffs
            ),
            len(handoffs),
        ),
        transfer_rate=rate(sum(row["transfers"] > 0 for row in handoffs), len(handoffs)),
        form_abandonment=rate(sum(row["forms_abandoned"] for row in rows), forms),
        fallback_rate=rate(sum(row["fallbacks"] for row in rows), bot_messages_read),
        kb_not_sure_rate=rate(sum(row["kb_not_sure"] for row in rows), kb),
    )


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class Report:
    """What `make report` and the dashboard show, for conversations started in [start, end)."""

    start: datetime
    end: datetime
    channel: Optional[str]
    overall: Summary
    by_channel: Dict[str, Summary]
    by_skill_group: Dict[str, Summary]
    by_agent: Dict[str, Summary]
    by_day: Dict[date, Summary]
    by_week: Dict[date, Summary]
    daily_by_channel: Dict[date, Dict[str, int]]
    handoff_reasons: List[Tuple[str, int]]
    ratings: Dict[int, int]
    top_intents: List[Tuple[str, int]]
    intent_trend: Dict[str, Dict[date, int]]
    left_at_question: List[Tuple[str, int]]
    left_after: List[Tuple[str, int]] = field(default_factory=list)
    unanswered_questions: List[Tuple[str, int]] = field(default_factory=list)


def grouped(
    rows: Sequence[Row], key: Callable[[Row], Any], r24: Mapping[str, bool], r7: Mapping[str, bool]
) -> Dict[Any, Summary]:
    groups: Dict[Any, List[Row]] = defaultdict(list)
    for row in rows:
        value = key(row)
        if value is not None:
            groups[value].append(row)
    return {value: summarise(members, r24, r7) for value, members in sorted(groups.items())}


def report(
    rows: Sequence[Row],
    start: datetime,
    end: datetime,
    channel: Optional[str] = None,
    unanswered: Sequence[Tuple[str, int]] = (),
    top: int = 10,
) -> Report:
    """`rows`: the facts of conversations started from `start` up to `end` + 7 days (later ones only
    tell whether a customer came back); the report covers those started in [start, end)."""
    rows = [
        {**row, "intents": json.loads(row["intents"])} for row in rows
    ]  # parsed once, read by every group
    r24 = repeat_contacts(rows, CONTAINMENT_WINDOW)
    r7 = repeat_contacts(rows, FCR_WINDOW)
    chosen = [
        row
        for row in rows
        if start <= row["started_at"] < end and (channel is None or row["channel"] == channel)
    ]
    intents: Counter[str] = Counter()
    trend: Dict[str, Counter[date]] = defaultdict(Counter)
    daily: Dict[date, Counter[str]] = defaultdict(Counter)
    for row in chosen:
        counts = row["intents"]
        intents.update(counts)
        day = row["started_at"].date()
        daily[day][row["channel"]] += 1
        for intent, count in counts.items():
            trend[intent][day] += count
    leading = intents.most_common(top)
    return Report(
        start=start,
        end=end,
        channel=channel,
        overall=summarise(chosen, r24, r7),
        by_channel=grouped(chosen, lambda row: row["channel"], r24, r7),
        by_skill_group=grouped(chosen, lambda row: row.get("skill_group"), r24, r7),
        by_agent=grouped(chosen, lambda row: row.get("agent_id"), r24, r7),
        by_day=grouped(chosen, lambda row: row["started_at"].date(), r24, r7),
        by_week=grouped(chosen, lambda row: week_of(row["started_at"].date()), r24, r7),
        daily_by_channel={day: dict(counts) for day, counts in sorted(daily.items())},
        handoff_reasons=Counter(
            row["handoff_reason"] for row in chosen if row["handed_off"] and row.get("handoff_reason")
        ).most_common(),
        ratings=dict(
            sorted(Counter(int(row["rating"]) for row in chosen if row.get("rating") is not None).items())
        ),
        top_intents=leading,
        intent_trend={intent: dict(sorted(trend[intent].items())) for intent, _ in leading[:5]},
        left_at_question=Counter(
            row["left_at_question"] for row in chosen if row.get("left_at_question")
        ).most_common(top),
        left_after=Counter(row["left_after"] for row in chosen if row.get("left_after")).most_common(top),
        unanswered_questions=list(unanswered[:top]),
    )
