"""The TwiML the phone channel answers with, written with the twilio library.

Verb URLs are relative (`gather?turn=3`): the gateway resolves them against the
webhook it called, so the channel works under any path prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio.twiml.voice_response import VoiceResponse

HINTS = "查询订单,订单号,退货,退款,机票,航班,人工客服,转人工,再见"
HOLD = "请稍候，正在为您查询。"


@dataclass(frozen=True)
class VoiceStyle:
    voice: str  # TTS voice, e.g. Polly.Zhiyu (Mandarin)
    say_language: str  # TTS language, cmn-CN for Polly's Mandarin voices
    speech_language: str  # speech recognition language, zh-CN
    dial_timeout_s: int  # how long the agent line rings


class TwimlWriter:
    def __init__(self, style: VoiceStyle) -> None:
        self.style = style

    def _say(self, verb, text: str) -> None:
        verb.say(text, voice=self.style.voice, language=self.style.say_language)

    def prompt(self, turn: int, text: str, keypad: bool, notice: str = "") -> str:
        """Ask and listen: speech or keys, barge-in allowed; silence goes to `noinput`."""
        answer = VoiceResponse()
        if notice:  # outside <Gather>, so it cannot be skipped by speaking or pressing a key
            self._say(answer, notice)
        keys = {"num_digits": 1} if keypad else {"finish_on_key": "#"}
        gather = answer.gather(
            input="dtmf speech",
            action=f"gather?turn={turn}",
            method="POST",
            language=self.style.speech_language,
            speech_timeout="auto",
            timeout=5,
            barge_in=True,
            hints=HINTS,
            **keys,
        )
        self._say(gather, text)
        answer.redirect(f"noinput?turn={turn}", method="POST")
        return str(answer)

    def transfer(self, turn: int, text: str, number: str, caller_id: str) -> str:
        answer = VoiceResponse()
        if text:
            self._say(answer, text)
        dial = answer.dial(
            action=f"dial_status?turn={turn}",
            method="POST",
            timeout=self.style.dial_timeout_s,
            answer_on_bridge=True,
            caller_id=caller_id or None,
        )
        dial.number(number)
        return str(answer)

    def rating(self, turn: int, text: str, goodbye: str) -> str:
        """A keypad score 1–5; a caller who presses nothing hears goodbye."""
        answer = VoiceResponse()
        gather = answer.gather(
            input="dtmf", action=f"rate?turn={turn}", method="POST", num_digits=1, timeout=6
        )
        self._say(gather, text)
        self._say(answer, goodbye)
        answer.hangup()
        return str(answer)

    def goodbye(self, text: str) -> str:
        answer = VoiceResponse()
        if text:
            self._say(answer, text)
        answer.hangup()
        return str(answer)

    def hold(self, turn: int, first: bool) -> str:
        """Keeps the call waiting for a long turn; each loop stays far below the 15 s webhook limit."""
        answer = VoiceResponse()
        if first:
            self._say(answer, HOLD)
        answer.pause(length=2)
        answer.redirect(f"poll?turn={turn}", method="POST")
        return str(answer)

    @staticmethod
    def empty() -> str:
        return str(VoiceResponse())
