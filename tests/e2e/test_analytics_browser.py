"""The figures of real conversations, as a supervisor and a manager see them: conversations with the
assistant `make run` starts reach the analytics facts through the event broker; the supervisor's
dashboard in the workspace shows them, and `make report`'s page draws its charts with Chinese labels,
in Debian's chromium. Screenshots go to tests/artifacts/analytics/ (gitignored)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.test_workspace_live import LIVE_TIMEOUT_MS, log_in

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "analytics"


def test_the_supervisor_dashboard_and_the_report_show_todays_conversations(
    browser, chat, e2e_stack, workspace_url, tmp_path
):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for words in (["你好", "运费怎么算"], ["查订单", "XH2611010001"], ["我要投诉", "转人工"]):
        sender = chat.new_sender()
        for text in words:
            chat.say(sender, text)
    page = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000}).new_page()
    try:
        log_in(page, workspace_url, "chenjing")
        if not page.locator("#supervisor-view").is_visible():
            page.locator("#supervisor-toggle").click()
        conversations = page.locator('#metrics-figures [data-figure="conversations"] dd')
        # The consumer follows the broker within a second or two; the dashboard refreshes itself.
        expect(conversations).not_to_have_text("0", timeout=LIVE_TIMEOUT_MS * 3)
        assert int(conversations.inner_text()) >= 3
        containment = page.locator('#metrics-figures [data-figure="containment"] dd')
        expect(containment).to_have_text(re.compile(r"^\d+\.\d%$"))
        page.locator('.metrics-periods [data-days="30"]').click()
        expect(page.locator("#metrics-range")).to_contain_text("至")
        expect(page.locator("#metrics-channel-rows")).to_contain_text("接口")
        page.locator("#supervisor-view").screenshot(path=str(ARTIFACTS / "dashboard.png"))

        out = tmp_path / "report"
        env = {**e2e_stack.env, "XINGHE_EVENTS_DB": str(e2e_stack.run_dir / "events.db")}
        done = subprocess.run(
            [sys.executable, "-m", "analytics", "report", "--out", str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert done.stdout.strip().endswith("report.html")
        page.goto((out / "report.html").as_uri())
        expect(page.locator("h1")).to_have_text("星河智能客服 数据报告")
        images = page.locator("img")
        assert images.count() >= 3  # conversations by day, containment and handoffs, top intents at least
        for index in range(images.count()):  # every chart decoded and drawn
            assert images.nth(index).evaluate("img => img.complete && img.naturalWidth > 0")
        expect(page.locator("h2").first).to_have_text("每日会话数（按渠道）")
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    finally:
        # Logged out, so the supervisor is offline again: later tests count on nobody being online.
        page.goto(workspace_url)
        page.locator("#logout").click()
        expect(page.locator("#login-form")).to_be_visible()
        page.context.close()
