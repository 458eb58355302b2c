"""An answer to an open question is not a refusal: the table of tests/unit/open_replies.yml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from business.services.replies import ReplyKind, open_reply_kind

TABLE = yaml.safe_load((Path(__file__).with_name("open_replies.yml")).read_text(encoding="utf-8"))
ROWS = [(text, ReplyKind(kind)) for kind, texts in TABLE.items() for text in texts]


def test_the_table_is_the_size_the_issue_asks_for():
    assert len(TABLE["content"]) >= 20 and len(TABLE["stop"]) >= 20


@pytest.mark.parametrize("text, kind", ROWS, ids=[text for text, _ in ROWS])
def test_each_reply_is_read_as_the_customer_meant_it(text, kind):
    assert open_reply_kind(text) is kind


@pytest.mark.parametrize("text", ["", "   ", "。。。", "🙂"])
def test_an_empty_reply_is_asked_about_not_taken_as_the_answer(text):
    assert open_reply_kind(text) is ReplyKind.UNCLEAR
