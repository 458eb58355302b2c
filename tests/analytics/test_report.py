"""`make report`: one self-contained HTML page with its charts, and a CSV file of every table."""

from __future__ import annotations

import csv
import re
from datetime import datetime

from analytics import intake
from analytics.__main__ import main
from analytics.report import CJK_FONTS, _plt
from business.services.faq_log import FaqLog
from business.store.db import engine_for, session_scope
from business.wording import Wording
from tests.analytics.streams import Stream, closed_chat


def traffic() -> list:
    batch = []
    for i in range(9):
        channel = ["webchat", "wechat", "phone"][i % 3]
        stream = Stream(f"{channel}:{i}", f"2026-11-2{i % 3} 10:0{i}:00", channel=channel).session()
        stream.says("查订单", "order_status").bot("utter_ask_order_id")
        stream.says("运费怎么算", "ask_faq").bot("utter_faq_answer" if i % 2 else "utter_faq_not_sure")
        if i % 4 == 0:
            stream.says("转人工", "request_human").action("action_handoff").pause()
        batch += [(stream.sender, event) for event in stream.events]
    return batch


def test_the_report_draws_its_charts_with_chinese_labels_and_writes_every_table(tmp_path, database_url):
    with session_scope(engine_for(database_url)) as session:
        session.add(closed_chat("webchat:0", "2026-11-20 10:00:08", wait_s=32, handle_s=360, rating=5))
        FaqLog(session).record(
            "退货地址在哪",
            "not_sure",
            0.1,
            datetime(2026, 11, 21, 9, 0),
            conversation_id="webchat:1",
            channel="webchat",
        )
    intake.apply(traffic())
    out = tmp_path / "report"
    assert main(["report", "--from", "2026-11-20", "--to", "2026-11-22", "--out", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "自助解决率" in page and "转人工率" in page and "满意度" in page
    titles = re.findall(r"<h2>([^<]+)</h2><img", page)
    assert titles == [
        "每日会话数（按渠道）",
        "自助解决率与转人工率（按日）",
        "满意度评分分布",
        "高频意图",
        "前五个意图的每日消息数",
        "转人工原因",
        "知识库没答上的问题",
        "坐席工作量（接待会话数）",
    ]
    assert "src='http" not in page and "<script" not in page  # nothing fetched from elsewhere
    with (out / "by_channel.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["渠道", "会话数", "客户消息数"]
    assert sorted(row[0] for row in rows[1:]) == ["微信", "电话", "网页"]
    assert all(row[1] == "3" for row in rows[1:])
    with (out / "top_intents.csv").open(
        encoding="utf-8-sig"
    ) as handle:  # named as agents and supervisors say them
        assert sorted(list(csv.reader(handle))[1:3]) == [["咨询", "9"], ["查订单", "9"]]
    with (out / "unanswered_questions.csv").open(encoding="utf-8-sig") as handle:
        assert list(csv.reader(handle))[1] == ["退货地址在哪", "1"]
    with (out / "left_after.csv").open(encoding="utf-8-sig") as handle:  # the words, beside the name
        left = {row[0]: row[1:] for row in list(csv.reader(handle))[1:]}
    assert left["utter_faq_not_sure"] == [Wording.from_domain().responses["utter_faq_not_sure"], "2"]
    assert left["utter_faq_answer"][1] == "4"  # the customers handed to a person left no reply unanswered


def test_a_chinese_font_is_there_for_the_charts():
    from matplotlib import font_manager

    _plt()
    available = {font.name for font in font_manager.fontManager.ttflist}
    assert available & set(CJK_FONTS), "install Debian's fonts-noto-cjk (scripts/install_system_deps.sh)"
