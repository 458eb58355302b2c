"""One customer's conversation over the REST channel, as the e2e tests drive it."""

from __future__ import annotations

from typing import List


class Conversation:
    def __init__(self, chat) -> None:
        self.chat = chat
        self.sender = chat.new_sender()
        self.conversation_id = chat.conversation_id(self.sender)  # what tickets and the tracker name

    def say(self, text: str) -> str:
        """The bot's replies to one message, joined into one text."""
        return "\n".join(self.chat.texts(self.sender, text))

    def fail_verification(self, request: str, phone: str, times: int = 3) -> str:
        """Asks for a journey that needs identity and gives a wrong ID tail `times` times;
        the last reply."""
        self.say(request)
        for _ in range(times):
            self.say(phone)
            reply = self.say("0000")
        return reply

    def buttons(self, text: str) -> List[str]:
        """Says `text`; the titles of the buttons offered in reply."""
        return [b["title"] for m in self.chat.say(self.sender, text) for b in m.get("buttons") or []]


def conversation_to_verify(chat, request: str, phone: str, id_last4: str) -> Conversation:
    """Starts a journey that needs identity, and passes the check."""
    talk = Conversation(chat)
    assert "手机号" in talk.say(request)
    assert "身份证" in talk.say(phone)
    assert "身份验证成功" in talk.say(id_last4)
    return talk
