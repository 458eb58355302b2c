"""A customer in the web chat and an agent in the workspace, in two browser contexts of Debian's
chromium, against the real processes `make run` starts: handoff → queue → accept (with the handoff
summary) → messages both ways, live, one of them a knowledge suggestion the agent inserted and
edited → the bot stays silent → close → rating, stored with the chat and the agent.

Screenshots go to tests/artifacts/workspace/ (gitignored).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from business.store.models import AuditEntry, LiveChat, Ticket
from tests.e2e.conversation import conversation_to_verify
from tests.e2e.test_webchat import REPLY_TIMEOUT_MS, bot_messages, open_chat, say

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "workspace"
LIVE_TIMEOUT_MS = 15_000


def log_in(page: Page, workspace_url: str, login: str) -> None:
    page.goto(workspace_url)
    page.locator("#login-name").fill(login)
    page.locator("#login-password").fill("xinghe-demo")
    page.locator("#login-submit").click()
    expect(page.locator("#workspace")).to_be_visible()
    page.locator("#status-select").select_option("online")


def test_a_web_customer_and_an_agent_talk_live_and_the_bot_steps_aside(
    browser, rasa_url, workspace_url, store
):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    agent = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800}).new_page()
    customer = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860}).new_page()
    try:
        log_in(agent, workspace_url, "wangfang")
        open_chat(customer, rasa_url)
        say(customer, "我的快递到哪了")
        expect(bot_messages(customer).last).to_contain_text("订单号", timeout=REPLY_TIMEOUT_MS)
        say(customer, "转人工")
        expect(bot_messages(customer).last).to_contain_text("排队第1位", timeout=REPLY_TIMEOUT_MS)
        expect(customer.locator(".xh-log [data-role=event]").last).to_contain_text("排队")

        waiting = agent.locator("#queue-list li[data-chat-id]")
        expect(waiting).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
        expect(waiting.first).to_contain_text("客户要求人工")
        agent.screenshot(path=str(ARTIFACTS / "queue.png"))
        waiting.first.locator(".accept").click()
        transcript = agent.locator("#transcript")
        expect(transcript).to_contain_text("我的快递到哪了")  # the bot's part of the conversation
        expect(customer.locator(".xh-log").last).to_contain_text("王芳", timeout=LIVE_TIMEOUT_MS)
        # The handoff summary: why, and what the customer wanted, each line from the tracker.
        summary = agent.locator("#assist-summary")
        expect(summary.locator('li[data-section="why"]')).to_contain_text("转人工", timeout=LIVE_TIMEOUT_MS)
        expect(summary.locator('li[data-section="wanted"]').first).to_contain_text("我的快递到哪了")

        answered = bot_messages(customer).count()
        say(customer, "我的快递三天没动了，能帮我催一下吗")
        expect(transcript.locator('.message[data-by="customer"]').last).to_contain_text(
            "三天没动了", timeout=LIVE_TIMEOUT_MS
        )
        # Knowledge suggestions for that message: one click inserts the answer, the agent edits and sends.
        stuck = agent.locator('#assist-suggestions li[data-document-id="logistics-stuck"]')
        expect(stuck).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        stuck.locator(".suggestion-insert").click()
        inserted = agent.locator("#reply-box").input_value()
        assert inserted.strip()  # the document's answer, to edit
        agent.locator("#reply-box").press("Control+End")
        agent.locator("#reply-box").press_sequentially("我这边先帮您催一下快递。")
        agent.locator("#send-button").click()
        expect(customer.locator(".xh-log [data-role=agent]").last).to_contain_text(
            "我这边先帮您催一下快递", timeout=LIVE_TIMEOUT_MS
        )
        assert inserted.splitlines()[0] in customer.locator(".xh-log [data-role=agent]").last.inner_text()
        agent.screenshot(path=str(ARTIFACTS / "assist.png"))
        # Guidance while typing: a full phone number in the draft is flagged before anything is sent.
        agent.locator("#reply-box").fill("有问题打我手机13800138001")
        expect(agent.locator("#draft-warnings")).to_contain_text("手机号", timeout=LIVE_TIMEOUT_MS)
        agent.locator("#send-button").click()
        expect(agent.locator("#reply-warnings")).to_contain_text("不要把完整的个人信息发给客户")
        agent.locator("#reply-warning-cancel").click()
        agent.locator("#reply-box").fill("")
        agent.locator("#canned-list .canned", has_text="问候").click()  # a canned reply, to edit
        expect(agent.locator("#reply-box")).to_have_value(re.compile("很高兴为您服务"))
        agent.locator("#reply-box").fill("您好，我是王芳，这就帮您联系快递催一下。")
        expect(customer.get_by_test_id("xh-typing")).to_contain_text("王芳正在输入", timeout=LIVE_TIMEOUT_MS)
        agent.locator("#send-button").click()
        expect(customer.locator(".xh-log [data-role=agent]").last).to_contain_text(
            "这就帮您联系快递", timeout=LIVE_TIMEOUT_MS
        )
        expect(transcript.locator('.message[data-by="agent"]').last).to_have_attribute("data-state", "sent")
        assert bot_messages(customer).count() == answered  # the bot said nothing meanwhile
        customer.get_by_test_id("xh-input").press_sequentially("好的，那大概")  # typing, not sent yet
        expect(agent.locator("#customer-typing")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        customer.get_by_test_id("xh-input").fill("")
        agent.screenshot(path=str(ARTIFACTS / "conversation.png"))
        customer.screenshot(path=str(ARTIFACTS / "customer.png"))

        agent.locator("#close-open").click()
        agent.locator("#close-result").select_option("resolved")
        agent.locator("#close-note").fill("已催快递")
        agent.locator("#close-confirm").click()
        expect(customer.get_by_test_id("xh-star-5")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        customer.get_by_test_id("xh-star-5").click()
        customer.get_by_test_id("xh-rate-submit").click()

        conversation_id = customer.get_by_test_id("xh-root").get_attribute("data-conversation")
        with store() as session:
            chat = session.execute(
                select(LiveChat).where(LiveChat.conversation_id == conversation_id)
            ).scalar_one()
            assert (chat.status, chat.result, chat.agent_id) == ("closed", "resolved", "A001")
            assert session.get(Ticket, chat.ticket_id).status == "resolved"
        for _ in range(50):
            with store() as session:
                rating = session.execute(
                    select(LiveChat.rating).where(LiveChat.conversation_id == conversation_id)
                ).scalar_one()
            if rating is not None:
                break
            customer.wait_for_timeout(200)
        assert rating == 5

        say(customer, "谢谢")  # the bot is back
        expect(bot_messages(customer).last).not_to_contain_text("没太理解", timeout=REPLY_TIMEOUT_MS)
    finally:
        agent.locator("#logout").click()  # offline again: the other tests find nobody online
        expect(agent.locator("#login-form")).to_be_visible()
        agent.context.close()
        customer.context.close()


def test_a_supervisor_works_a_ticket_and_sees_the_floor(browser, workspace_url, chat, store):
    talk = chat.new_sender()
    chat.say(talk, "我的快递到哪了")
    chat.say(talk, "转人工")  # nobody online: a call-back ticket
    verified = conversation_to_verify(chat, "查余额", "13800138001", "2817")
    verified.say("转人工")
    with store() as session:
        ticket, callback = (
            session.execute(select(Ticket).where(Ticket.conversation_id == conversation)).scalar_one()
            for conversation in (chat.conversation_id(talk), verified.conversation_id)
        )
    page = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900}).new_page()
    try:
        log_in(page, workspace_url, "chenjing")
        # The groups come from the server: every select that offers them lists all four.
        for dropdown in ("#transfer-group", "#canned-group"):
            expect(page.locator(f"{dropdown} option")).to_have_text(
                ["请选择" if "transfer" in dropdown else "通用", "商城", "钱包", "旅行", "投诉"]
            )
        page.locator("#tab-tickets").click()
        row = page.locator(f'#ticket-list li[data-ticket-id="{ticket.id}"]')
        expect(row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        row.click()
        expect(page.locator("#ticket-view")).to_contain_text(
            "我的快递到哪了"
        )  # the conversation it came from
        page.locator("#ticket-status").select_option("in_progress")
        page.locator("#ticket-note").fill("已联系快递站，明天上午派送")
        page.locator("#ticket-for-customer").check()
        page.locator("#ticket-update").click()
        expect(page.locator("#ticket-view")).to_contain_text("已联系快递站，明天上午派送")
        page.screenshot(path=str(ARTIFACTS / "tickets.png"))
        with store() as session:
            assert session.get(Ticket, ticket.id).status == "in_progress"
        owner_hears = " ".join(chat.texts(talk, f"工单{ticket.id}进度"))
        assert "处理中" in owner_hears or "正在处理" in owner_hears
        # The verified customer's call-back ticket: the number shows masked until she asks for it.
        if page.locator("#ticket-back").is_visible():  # a narrow pane shows the list or one ticket
            page.locator("#ticket-back").click()
        page.locator(f'#ticket-list li[data-ticket-id="{callback.id}"]').click()
        facts = page.locator("#ticket-facts")
        expect(facts).to_contain_text("138****8001")
        assert "13800138001" not in page.content()
        facts.locator(".reveal-phone").click()
        expect(facts).to_contain_text("13800138001")
        with store() as session:
            assert (
                session.execute(
                    select(AuditEntry).where(
                        AuditEntry.action == "reveal_phone", AuditEntry.subject == callback.id
                    )
                )
                .scalar_one()
                .agent_id
                == "S001"
            )
        if not page.locator("#supervisor-view").is_visible():  # shown or hidden by the 班长视图 button
            page.locator("#supervisor-toggle").click()
        expect(page.locator("#supervisor-view")).to_be_visible()
        expect(page.locator("#supervisor-view")).to_contain_text("王芳")
        page.screenshot(path=str(ARTIFACTS / "supervisor.png"))
    finally:
        page.locator("#logout").click()
        expect(page.locator("#login-form")).to_be_visible()
        page.context.close()
