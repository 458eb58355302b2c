"""`make report`: a self-contained HTML report (charts drawn with matplotlib and embedded, no network)
and a CSV file of every table, for conversations started in a date range, on one channel or all."""

from __future__ import annotations

import base64
import csv
import html
import io
import logging
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.metrics import Report, Summary, report
from business.services.agents import SKILL_GROUPS
from business.services.faq_log import FaqLog
from business.services.live_chat import CHANNEL_NAMES, REASONS, WANTED
from business.store.models import Agent, ConversationFact
from business.wording import Wording

logger = logging.getLogger(__name__)

# Tried in order; Debian's fonts-noto-cjk (scripts/install_system_deps.sh) provides the first two.
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Micro Hei", "Source Han Sans SC"]
SUMMARY_COLUMNS: List[Tuple[str, str]] = [
    ("conversations", "会话数"),
    ("customer_messages", "客户消息数"),
    ("containment", "自助解决率"),
    ("handoff_rate", "转人工率"),
    ("fcr", "首次解决率"),
    ("csat", "满意度"),
    ("rating_coverage", "评价覆盖率"),
    ("aht_s", "平均处理时长(秒)"),
    ("first_response_s", "人工首次响应(秒)"),
    ("wait_s", "平均排队(秒)"),
    ("queue_abandonment", "排队放弃率"),
    ("transfer_rate", "转接率"),
    ("form_abandonment", "表单中途离开率"),
    ("fallback_rate", "没听懂率"),
    ("kb_not_sure_rate", "知识库不确定率"),
]
# Intents by name: what customers want (the core's names, as the handoff summary gives them), and the
# conversation's own.
INTENT_NAMES = {
    **WANTED,
    "greet": "问候",
    "goodbye": "告别",
    "thanks": "感谢",
    "affirm": "肯定",
    "deny": "否定",
    "inform": "回答问题",
    "bot_challenge": "问是不是机器人",
    "out_of_scope": "业务范围外",
    "nlu_fallback": "没听懂",
}
RATES = {
    "containment",
    "handoff_rate",
    "fcr",
    "csat",
    "rating_coverage",
    "queue_abandonment",
    "transfer_rate",
    "form_abandonment",
    "fallback_rate",
    "kb_not_sure_rate",
}


def facts_between(session: Session, start: datetime, end: datetime) -> List[Dict[str, Any]]:
    """Facts of conversations started in [start, end + 7 days): the later ones say who came back."""
    # Every column but the times the figures do not use: reading a time back from SQLite is a parse.
    unused = {"queued_at", "built_at"}
    read = [column for column in ConversationFact.__table__.columns if column.name not in unused]
    result = session.execute(
        select(*read).where(
            ConversationFact.started_at >= start, ConversationFact.started_at < end + timedelta(days=7)
        )
    )
    columns = list(result.keys())
    return [dict(zip(columns, row, strict=True)) for row in result.all()]


def build(session: Session, start: datetime, end: datetime, channel: Optional[str] = None) -> Report:
    unanswered = FaqLog(session).unanswered(start, end)
    return report(facts_between(session, start, end), start, end, channel, unanswered)


def shown(column: str, value: Any) -> str:
    if value is None:
        return "—"
    if column in RATES:
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


@dataclass
class Table:
    slug: str
    title: str
    header: List[str]
    rows: List[List[Any]]
    # Rows of summaries are [label, each of SUMMARY_COLUMNS]: shown as those figures (rates in %).
    holds_summaries: bool = False

    def shown_cells(self, row: List[Any]) -> List[Any]:
        """The row as the page shows it: the label as it is, each value formatted."""
        columns = [column for column, _ in SUMMARY_COLUMNS] if self.holds_summaries else [""] * len(row[1:])
        return [row[0]] + [shown(column, value) for column, value in zip(columns, row[1:], strict=True)]


def summary_table(
    slug: str, title: str, groups: Mapping[Any, Summary], label: str, names: Mapping[str, str]
) -> Table:
    header = [label] + [title for _, title in SUMMARY_COLUMNS]
    rows = []
    for value, summary in groups.items():
        name = names.get(str(value), str(value)) if names else str(value)
        values = asdict(summary)
        rows.append([name] + [values[column] for column, _ in SUMMARY_COLUMNS])
    return Table(slug, title, header, rows, holds_summaries=True)


def replies_table(
    slug: str, title: str, label: str, counted: Sequence[Tuple[str, int]], said: Mapping[str, str]
) -> Table:
    """Bot replies by their response name, with what the domain has the bot say (its first variant),
    so that a supervisor reads the words and a designer finds the response."""
    return Table(
        slug, title, [label, "说的是", "会话数"], [[name, said.get(name, ""), n] for name, n in counted]
    )


def tables(result: Report, agent_names: Mapping[str, str]) -> List[Table]:
    found = [summary_table("overall", "总览", {"全部": result.overall}, "范围", {})]
    for slug, title, groups, label, names in (
        ("by_channel", "按渠道", result.by_channel, "渠道", CHANNEL_NAMES),
        ("by_skill_group", "按技能组", result.by_skill_group, "技能组", SKILL_GROUPS),
        ("by_agent", "按坐席", result.by_agent, "坐席", agent_names),
        ("by_day", "按日", result.by_day, "日期", {}),
        ("by_week", "按周（周一起）", result.by_week, "周", {}),
    ):
        found.append(summary_table(slug, title, groups, label, names))
    found.append(
        Table(
            "handoff_reasons",
            "转人工原因",
            ["原因", "次数"],
            [[REASONS.get(r, r), n] for r, n in result.handoff_reasons],
        )
    )
    found.append(
        Table("ratings", "评价分布", ["评分", "次数"], [[score, n] for score, n in result.ratings.items()])
    )
    found.append(
        Table(
            "top_intents",
            "高频意图",
            ["意图", "消息数"],
            [[INTENT_NAMES.get(i, i), n] for i, n in result.top_intents],
        )
    )
    said = Wording.from_domain().responses
    found.append(
        replies_table(
            "left_at_question", "客户在哪个问题处离开", "机器人的问题", result.left_at_question, said
        )
    )
    found.append(
        replies_table("left_after", "客户在机器人的哪句回复后离开", "机器人的回复", result.left_after, said)
    )
    found.append(
        Table(
            "unanswered_questions",
            "知识库没答上的问题",
            ["问题", "次数"],
            [list(item) for item in result.unanswered_questions],
        )
    )
    return found


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    available = {font.name for font in font_manager.fontManager.ttflist}
    chosen = [name for name in CJK_FONTS if name in available]
    if not chosen:
        logger.warning("no CJK font found (Debian: fonts-noto-cjk): Chinese labels will not render")
    plt.rcParams["font.sans-serif"] = chosen + ["DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode()


def charts(result: Report, agent_names: Mapping[str, str]) -> List[Tuple[str, str]]:
    """(title, base64 PNG) of each chart; a chart with nothing to show is left out."""
    plt = _plt()
    drawn: List[Tuple[str, str]] = []

    def chart(title: str, draw: Any, size: Tuple[float, float] = (7.5, 3.2)) -> None:
        figure, axes = plt.subplots(figsize=size)
        draw(axes)
        axes.set_title(title)
        drawn.append((title, _png(figure)))
        plt.close(figure)

    def day_axis(axes: Any, on: Sequence[date]) -> List[int]:
        """Positions for these days on the x axis, labelled 月-日. (Plotted as the labels themselves,
        matplotlib takes "11-07" for a date in a category and logs a line for every series.)"""
        positions = list(range(len(on)))
        axes.set_xticks(positions, [d.strftime("%m-%d") for d in on])
        axes.tick_params(axis="x", labelrotation=45, labelsize=7)
        return positions

    days = list(result.daily_by_channel)
    if days:
        channels = sorted({channel for counts in result.daily_by_channel.values() for channel in counts})

        def daily(axes: Any) -> None:
            bottom = [0] * len(days)
            positions = day_axis(axes, days)
            for channel in channels:
                values = [result.daily_by_channel[day].get(channel, 0) for day in days]
                axes.bar(
                    positions,
                    values,
                    bottom=bottom,
                    label=CHANNEL_NAMES.get(channel, channel),
                )
                bottom = [b + v for b, v in zip(bottom, values, strict=True)]
            axes.legend(fontsize=8)

        chart("每日会话数（按渠道）", daily)

        def trend(axes: Any) -> None:
            positions = day_axis(axes, list(result.by_day))
            for field, name in (("containment", "自助解决率"), ("handoff_rate", "转人工率")):
                axes.plot(
                    positions,
                    [(getattr(s, field) or 0) * 100 for s in result.by_day.values()],
                    marker="o",
                    label=name,
                )
            axes.set_ylabel("%")
            axes.legend(fontsize=8)

        chart("自助解决率与转人工率（按日）", trend)
    if result.ratings:
        chart(
            "满意度评分分布",
            lambda axes: axes.bar(
                [f"{s}分" for s in result.ratings], list(result.ratings.values()), color="#f0a030"
            ),
        )

    def horizontal(pairs: Sequence[Tuple[str, float]], color: str) -> Any:
        def draw(axes: Any) -> None:
            labels = [label[:24] for label, _ in pairs][::-1]
            axes.barh(labels, [value for _, value in pairs][::-1], color=color)
            axes.tick_params(axis="y", labelsize=8)

        return draw

    if result.top_intents:
        chart(
            "高频意图",
            horizontal([(INTENT_NAMES.get(i, i), n) for i, n in result.top_intents], "#4a7fd4"),
            (7.5, 3.6),
        )

        def intent_trend(axes: Any) -> None:
            positions = day_axis(axes, days)
            for intent, by_day in result.intent_trend.items():
                axes.plot(
                    positions,
                    [by_day.get(d, 0) for d in days],
                    marker=".",
                    label=INTENT_NAMES.get(intent, intent),
                )
            axes.legend(fontsize=8)

        chart("前五个意图的每日消息数", intent_trend)
    if result.handoff_reasons:
        chart(
            "转人工原因", horizontal([(REASONS.get(r, r), n) for r, n in result.handoff_reasons], "#d45a4a")
        )
    if result.unanswered_questions:
        chart("知识库没答上的问题", horizontal(result.unanswered_questions, "#8a6ad4"), (7.5, 3.6))
    if result.by_agent:
        workload = [
            (agent_names.get(str(agent), str(agent)), summary.conversations)
            for agent, summary in result.by_agent.items()
        ]
        chart("坐席工作量（接待会话数）", horizontal(workload, "#3aa07a"))
    return drawn


STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans CJK JP","PingFang SC","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:120px}
.card b{display:block;font-size:20px}table{border-collapse:collapse;font-size:13px;margin-top:6px}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:6px 0}
"""


def render_html(result: Report, all_tables: List[Table], drawn: List[Tuple[str, str]]) -> str:
    scope = CHANNEL_NAMES.get(result.channel, result.channel) if result.channel else "全部渠道"
    overall = asdict(result.overall)
    cards = "".join(
        f'<div class="card">{html.escape(title)}<b>{html.escape(shown(column, overall[column]))}</b></div>'
        for column, title in SUMMARY_COLUMNS
    )
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>星河智能客服 数据报告 {result.start:%Y-%m-%d}–{result.end:%Y-%m-%d}</title><style>{STYLE}</style></head><body>",
        f"<h1>星河智能客服 数据报告</h1><p>{result.start:%Y-%m-%d} 至 {result.end - timedelta(days=1):%Y-%m-%d}（含），{html.escape(scope)}。"
        "指标定义见 docs/analytics.md。</p>",
        f"<div class='cards'>{cards}</div>",
    ]
    for title, png in drawn:
        parts.append(
            f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' src='data:image/png;base64,{png}'>"
        )
    for table in all_tables:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in table.header)
        body = [
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in table.shown_cells(row)) + "</tr>"
            for row in table.rows
        ]
        empty = "" if body else f"<tr><td colspan='{len(table.header)}'>（无数据）</td></tr>"
        parts.append(
            f"<h2>{html.escape(table.title)}</h2><table><tr>{head}</tr>{''.join(body)}{empty}</table>"
        )
    parts.append("</body></html>")
    return "".join(parts)


def write(session: Session, start: date, end: date, out: Path, channel: Optional[str] = None) -> Path:
    """Writes report.html and one CSV per table into `out`; returns the HTML's path. `end` is inclusive."""
    result = build(
        session,
        datetime.combine(start, datetime.min.time()),
        datetime.combine(end + timedelta(days=1), datetime.min.time()),
        channel,
    )
    agent_names = dict(session.execute(select(Agent.id, Agent.name)).all())
    all_tables = tables(result, agent_names)
    out.mkdir(parents=True, exist_ok=True)
    for table in all_tables:
        with (out / f"{table.slug}.csv").open(
            "w", newline="", encoding="utf-8-sig"
        ) as handle:  # Excel reads the BOM
            writer = csv.writer(handle)
            writer.writerow(table.header)
            writer.writerows(table.rows)
    page = out / "report.html"
    page.write_text(render_html(result, all_tables, charts(result, agent_names)), encoding="utf-8")
    return page


DASHBOARD_PERIODS = (1, 7, 30)  # today, the last 7 days, the last 30 days


def dashboard(session: Session, today: date, days: int) -> Dict[str, Any]:
    """The supervisor's dashboard in the workspace: the report's headline figures for the last `days`
    days up to today, as the page shows them (values formatted as in the report)."""
    start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time())
    result = build(session, start, datetime.combine(today + timedelta(days=1), datetime.min.time()))
    overall = asdict(result.overall)
    return {
        "days": days,
        "from": start.date().isoformat(),
        "to": today.isoformat(),
        "figures": [
            {"key": key, "title": title, "value": shown(key, overall[key])} for key, title in SUMMARY_COLUMNS
        ],
        "by_channel": [
            {
                "channel": CHANNEL_NAMES.get(str(channel), str(channel)),
                "conversations": summary.conversations,
                "containment": shown("containment", summary.containment),
                "handoff_rate": shown("handoff_rate", summary.handoff_rate),
            }
            for channel, summary in result.by_channel.items()
        ],
        "handoff_reasons": [
            {"reason": REASONS.get(reason, reason), "count": n} for reason, n in result.handoff_reasons
        ],
        "top_intents": [
            {"intent": INTENT_NAMES.get(intent, intent), "count": n} for intent, n in result.top_intents[:5]
        ],
        "unanswered": [{"question": question, "count": n} for question, n in result.unanswered_questions[:5]],
    }
