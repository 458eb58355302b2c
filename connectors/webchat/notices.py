"""What the widget tells a customer when the channel refuses something.

Each notice has a stable `code` (for the widget's logic and the tests) and a
Chinese text (for the customer).
"""

from __future__ import annotations

from enum import Enum


class Notice(Enum):
    EMPTY = ("empty", "消息不能为空哦，请输入您的问题。")
    TOO_LONG = ("too_long", "消息太长了（最多{max_chars}个字），请分几条发送，您输入的内容还在输入框里。")
    RATE_LIMITED = ("rate_limited", "您发送得太快了，请稍等几秒再发，这条消息还在输入框里。")
    TOKEN_EXPIRED = ("token_expired", "会话已过期，正在为您重新连接…")
    BAD_RATING = ("bad_rating", "请选择1到5颗星再提交评价。")
    SERVER_ERROR = ("server_error", "抱歉，系统有点忙，请稍后再试。")

    @property
    def code(self) -> str:
        return self.value[0]

    def payload(self, **details: object) -> dict:
        """The `{code, notice}` body sent in an acknowledgement or a `notice` event."""
        return {"ok": False, "code": self.code, "notice": self.value[1].format(**details)}
