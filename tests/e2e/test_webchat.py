"""The web chat widget in a real browser (Debian's chromium via Playwright) against
the real assistant: demo page → chat in Chinese → button → reload → rating.

Screenshots go to tests/artifacts/webchat/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from business.store.models import WebchatRating

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "webchat"
REPLY_TIMEOUT_MS = 60_000  # a turn on a busy 2-core CI machine


def open_chat(page: Page, rasa_url: str) -> None:
    page.goto(f"{rasa_url}/webhooks/webchat/demo")
    page.get_by_test_id("xh-launcher").click()
    expect(page.get_by_test_id("xh-root")).to_have_attribute("data-connection", "online")
    expect(page.get_by_test_id("xh-input")).to_be_focused()


def say(page: Page, text: str) -> None:
    """Types like a customer and presses Enter; waits until the bubble shows."""
    page.get_by_test_id("xh-input").fill(text)
    page.keyboard.press("Enter")
    expect(page.locator(".xh-log [data-role=user]").last).to_have_text(f"我说：{text}")


def bot_messages(page: Page):
    return page.locator(".xh-log [data-role=bot]")


def test_a_customer_chats_in_chinese_reloads_and_rates(browser, rasa_url, store):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 860})
    open_chat(page, rasa_url)
    expect(bot_messages(page).first).to_contain_text("请问有什么可以帮您")

    say(page, "我的订单XH2611010001到哪了")
    expect(bot_messages(page).last).to_contain_text("顺丰速运", timeout=REPLY_TIMEOUT_MS)
    expect(bot_messages(page).last).to_contain_text("SF1402837465921")

    say(page, "你好")
    buttons = bot_messages(page).last.locator(".xh-button")
    expect(buttons.first).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    answered = bot_messages(page).count()
    buttons.filter(has_text="查订单物流").click()
    expect(page.locator(".xh-log [data-role=user]").last).to_have_text("我说：查订单物流")
    expect(bot_messages(page)).to_have_count(answered + 1, timeout=REPLY_TIMEOUT_MS)
    expect(bot_messages(page).last).to_contain_text("运单号")  # the order it already knows
    page.screenshot(path=str(ARTIFACTS / "chat-desktop.png"))

    page.reload()
    page.get_by_test_id("xh-launcher").click()
    log = page.get_by_test_id("xh-log")
    expect(log).to_contain_text("顺丰速运")
    expect(log).to_contain_text("我的订单XH2611010001到哪了")
    expect(log).to_contain_text("查订单物流")
    conversation_id = page.get_by_test_id("xh-root").get_attribute("data-conversation")
    assert conversation_id and conversation_id.startswith("web:")

    page.get_by_test_id("xh-rate-open").click()
    page.get_by_test_id("xh-star-5").click()
    page.get_by_test_id("xh-rate-submit").click()
    expect(log).to_contain_text("感谢您的评价（5星）")
    page.screenshot(path=str(ARTIFACTS / "chat-after-reload-rated.png"))
    with store() as session:
        scores = [r.score for r in session.query(WebchatRating).filter_by(conversation_id=conversation_id)]
    assert scores == [5]
    page.close()


def test_on_a_phone_the_chat_fills_the_screen_and_counts_unread_replies(browser, rasa_url):
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    open_chat(page, rasa_url)
    page.get_by_test_id("xh-input").fill("退款多久到账")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")  # closed before the answer arrives
    expect(page.get_by_test_id("xh-launcher")).to_be_focused()
    expect(page.get_by_test_id("xh-unread")).to_have_text(re.compile(r"^[1-9]$"), timeout=REPLY_TIMEOUT_MS)

    page.get_by_test_id("xh-launcher").click()
    expect(page.get_by_test_id("xh-unread")).to_be_hidden()
    panel = page.get_by_test_id("xh-panel").bounding_box()
    assert panel and panel["width"] == 390 and panel["height"] >= 800
    page.screenshot(path=str(ARTIFACTS / "chat-mobile.png"))
    context.close()
