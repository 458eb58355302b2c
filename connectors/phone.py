"""Phone channel: a TwiML voice-gateway webhook (Twilio and compatible gateways).

Routes under `/webhooks/phone/`: `voice` (incoming call), `gather` (speech or
keypad input), `noinput` (the caller said nothing), `poll` (hold loop while a
turn runs long), `dial_status` (the agent transfer ended), `rate` (the keypad
score for the agent, asked once the agent line hangs up), `status` (the call's
status callback).  One Rasa conversation per call, keyed by CallSid.  Every
webhook must carry a valid `X-Twilio-Signature`.  The signature never expires,
so replays are made harmless instead: a webhook of an ended call only hangs up,
one for a turn of a call this process does not know (the call was in progress when
it restarted, or a replay) makes no turn and ends the call in Chinese, one for a
turn never issued in a known call is refused, and a repeated one gets the answer
already given.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, FrozenSet, List, Mapping, Optional, TypeVar

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from business import clock
from business.services.callbacks import CallbackNumbers, masked_number
from business.services.live_chat import LiveChatService
from business.services.tickets import TicketService
from business.store.db import session_scope
from business.wording import Wording
from connectors.phone_calls import Call, CallBook
from connectors.phone_twiml import TwimlWriter, VoiceStyle
from connectors.settings import ConfiguredInput, number_setting, setting
from connectors.turns import BotMessage, MessageHandler, TaskKeeper, TurnOutput, finished_within, run_turn
from connectors.voice_text import keypad_prompt, speakable, spell, written_ids

logger = logging.getLogger(__name__)
T = TypeVar("T")

HUMAN = "/request_human"
# The keypad menu of the greeting (0 is the elderly fast path to a person).
MAIN_MENU = {
    "1": ("查询订单", "/order_status"),
    "2": ("退货退款", "/request_refund"),
    "3": ("机票服务", "/flight_status"),
    "0": ("转人工", HUMAN),
}
GREETING = (
    "您好，欢迎致电星河客服。"
    + keypad_prompt({k: t for k, (t, _) in MAIN_MENU.items()})
    + "您也可以直接说出您的问题。"
)
NOTICE = "为了提升服务质量，本次通话可能会被录音。"
REPROMPT = {"silence": "抱歉，我没有听到您的声音。", "nomatch": "抱歉，我没有听清。"}
NO_INPUT_GOODBYE = "我们一直没有听到您的声音，请稍后再拨。感谢来电，再见。"
NO_MATCH_TRANSFER = "抱歉，还是没能听清您的问题，正在为您转接人工客服，请稍候。"
ANYTHING_ELSE = "请问还有什么可以帮您？"
TURN_FAILED = "抱歉，系统暂时出了点问题，请再说一遍，或按0转人工。"
MISSED_TRANSFER = "抱歉，人工客服暂时无人接听。{ticket}客服会尽快给您回电，请保持电话畅通。感谢来电，再见。"
CALL_LOST = "抱歉，系统刚刚重启，本次通话无法继续，请您重新拨打。感谢来电，再见。"
MAX_BODY_BYTES = 16 * 1024  # a gateway's form is well under 2 KB
ENDED_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
CONNECTED_DIAL_STATUSES = frozenset({"completed", "answered"})

RATING_KEYS = frozenset("12345")


class CallRecords:
    """What becomes of a transferred call, written through the business core: the agents see the call
    in the workspace (its queue place, who took it, its rating) and the call-back task when nobody
    answered. Blocking: the channel calls these in a worker thread."""

    def missed_transfer(
        self, ticket_id: Optional[str], conversation_id: str, caller: str, reason: str
    ) -> Optional[str]:
        """Turns the handoff ticket into a call-back (or opens one) and ends the call's place in the
        agents' queue; returns the ticket's id."""
        with session_scope() as session:
            tickets, now = TicketService(session), clock.now()
            # The note shows the number masked; the agent reveals it in the workspace (audited).
            note = f"电话转人工未接通（{reason}），请回电 {masked_number(caller)}"
            LiveChatService(session).unanswered(conversation_id, now, note)
            ticket = tickets.find(ticket_id) if ticket_id else None
            if ticket is None:
                ticket = tickets.open("handoff", note, now, conversation_id=conversation_id)
            else:
                tickets.set_status(ticket, "open", note, now)
            CallbackNumbers(session).keep(ticket.id, caller, now)
            return ticket.id

    def agent_call_ended(self, conversation_id: str, seconds: int) -> Optional[str]:
        """The agent line hung up after talking with the caller; the live chat's status after that
        (`returned`: the agent handed the caller back to the bot)."""
        with session_scope() as session:
            chat = LiveChatService(session).agent_call_ended(conversation_id, clock.now(), seconds)
            return chat.status if chat is not None else None

    def rating(self, conversation_id: str, score: int) -> bool:
        with session_scope() as session:
            return LiveChatService(session).rate_call(conversation_id, score) is not None

    def call_ended(self, conversation_id: str) -> None:
        with session_scope() as session:
            LiveChatService(session).call_ended(conversation_id, clock.now())


def recognition_confidence(value: str) -> float:
    """The gateway's speech confidence (0–1); absent or unreadable counts as sure."""
    try:
        return float(value) if value else 1.0
    except ValueError:
        return 1.0


def names(value: Any, default: FrozenSet[str]) -> FrozenSet[str]:
    return frozenset(value) if value else default


@dataclass(frozen=True)
class PhoneSettings:
    auth_token: str
    public_base_url: str  # the URL the gateway calls, when a proxy rewrites ours (signatures cover it)
    agent_number: str
    caller_id: str
    style: VoiceStyle
    hold_after_s: float
    max_reprompts: int
    min_confidence: float
    transfer_responses: FrozenSet[str]  # responses after which the call goes to the agent line
    goodbye_responses: FrozenSet[str]  # responses after which the call ends

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any]) -> "PhoneSettings":
        return cls(
            auth_token=setting(credentials, "auth_token", "TWILIO_AUTH_TOKEN"),
            public_base_url=setting(credentials, "public_base_url", "PHONE_PUBLIC_URL").rstrip("/"),
            agent_number=setting(credentials, "agent_number", "PHONE_AGENT_NUMBER"),
            caller_id=setting(credentials, "caller_id", "PHONE_CALLER_ID"),
            style=VoiceStyle(
                voice=setting(credentials, "voice", "PHONE_VOICE", "Polly.Zhiyu"),
                say_language=setting(credentials, "say_language", "PHONE_SAY_LANGUAGE", "cmn-CN"),
                speech_language=setting(credentials, "speech_language", "PHONE_SPEECH_LANGUAGE", "zh-CN"),
                dial_timeout_s=int(number_setting(credentials, "dial_timeout_s", "PHONE_DIAL_TIMEOUT_S", 25)),
            ),
            hold_after_s=number_setting(credentials, "hold_after_s", "PHONE_HOLD_AFTER_S", 6.0),
            max_reprompts=int(number_setting(credentials, "max_reprompts", "PHONE_MAX_REPROMPTS", 2)),
            min_confidence=number_setting(credentials, "min_confidence", "PHONE_MIN_CONFIDENCE", 0.3),
            transfer_responses=names(
                credentials.get("transfer_responses"),
                frozenset({"utter_handoff_queued", "utter_handoff_already"}),
            ),
            goodbye_responses=names(credentials.get("goodbye_responses"), frozenset({"utter_goodbye"})),
        )


class PhoneInput(ConfiguredInput):
    channel_name = "phone"
    settings_type = PhoneSettings

    def __init__(self, settings: PhoneSettings, records: Optional[CallRecords] = None) -> None:
        self.settings = settings
        self.records = records or CallRecords()
        self.say = Wording.from_domain()
        self.validator = RequestValidator(settings.auth_token)
        self.twiml = TwimlWriter(settings.style)
        self.calls = CallBook()
        self.tasks = TaskKeeper()
        if not settings.auth_token:
            logger.warning(
                "phone channel has no auth token (TWILIO_AUTH_TOKEN): it answers 503 until configured"
            )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = self.webhook_blueprint()
        steps = {
            "voice": self._incoming,
            "gather": self._gathered,
            "noinput": self._no_input,
            "poll": self._poll,
            "dial_status": self._dial_ended,
            "rate": self._rated,
            "status": self._call_ended,
        }

        @hook.route("/<step>", methods=["POST"])
        async def webhook(request: Request, step: str) -> HTTPResponse:
            if step not in steps:
                return response.text("未知的语音网关请求", status=404)
            if not self.settings.auth_token:
                return response.text("电话渠道未配置", status=503)
            if len(request.body or b"") > MAX_BODY_BYTES:
                return response.text("请求过大", status=413)
            if not self._signed(request):
                logger.warning("phone webhook %s with a missing or forged X-Twilio-Signature refused", step)
                return response.text("签名校验失败", status=403)
            form = {key: request.form.get(key, "") for key in request.form}
            sid = form.get("CallSid", "")
            try:
                turn = int(request.args.get("turn", "0"))
            except ValueError:
                turn = -1
            if not sid or turn < 0:
                return response.text("请求缺少 CallSid 或 turn 无效", status=400)
            if self.calls.ended(sid):
                logger.warning("phone webhook %s for an ended call refused (replayed)", step)
                return response.text(self.twiml.goodbye(""), content_type="text/xml; charset=utf-8")
            if (
                turn > 0 and sid not in self.calls
            ):  # nothing to resume: say so, not the gateway's English error
                logger.warning("phone webhook %s for turn %d of a call unknown here: ended", step, turn)
                return response.text(self.twiml.goodbye(CALL_LOST), content_type="text/xml; charset=utf-8")
            call = self.calls.call(sid, form.get("From", ""))
            if turn > call.turn:
                logger.warning("phone webhook %s for turn %d, never issued, refused", step, turn)
                return response.text("请求的 turn 尚未发出", status=409)
            twiml = await steps[step](call, form, turn, on_new_message)
            return response.text(twiml, content_type="text/xml; charset=utf-8")

        return hook

    def _signed(self, request: Request) -> bool:
        url = request.url
        if self.settings.public_base_url:
            query = f"?{request.query_string}" if request.query_string else ""
            url = f"{self.settings.public_base_url}{request.path}{query}"
        return self.validator.validate(url, request.form, request.headers.get("X-Twilio-Signature", ""))

    # -- webhooks: each gets the call, the form, ?turn= and Rasa; returns TwiML --

    async def _incoming(
        self, call: Call, form: Mapping[str, str], turn: int, on_new_message: MessageHandler
    ) -> str:
        if 0 not in call.answered:  # a repeated incoming-call webhook gets the same greeting
            call.prompt, call.keypad = GREETING, {key: payload for key, (_, payload) in MAIN_MENU.items()}
            call.answered[0] = self.twiml.prompt(call.next_turn(), GREETING, keypad=True, notice=NOTICE)
        return call.answered[0]

    async def _gathered(
        self, call: Call, form: Mapping[str, str], turn: int, on_new_message: MessageHandler
    ) -> str:
        if turn in call.answered or turn in call.running:  # the gateway retried this webhook
            return call.answered.get(turn) or await self._awaited(call, turn)
        digits, speech = form.get("Digits", "").strip(), form.get("SpeechResult", "").strip()
        if not digits and not speech:
            return await self._missed(call, turn, "silence")
        confidence = recognition_confidence(form.get("Confidence", ""))
        if speech and not digits and confidence < self.settings.min_confidence:
            return await self._missed(call, turn, "nomatch")
        text = (
            (call.keypad.get(digits) or (HUMAN if digits == "0" else digits))
            if digits
            else written_ids(speech)
        )
        call.misses = 0
        metadata = {
            "phone": {
                "call_sid": call.sid,
                "caller": call.caller,
                "to": form.get("To", ""),
                "input": "dtmf" if digits else "speech",
                "confidence": confidence,
            }
        }
        message = UserMessage(
            text,
            TurnOutput(self.name()),
            call.sid,
            input_channel=self.name(),
            message_id=f"{call.sid}:{turn}",
            metadata=metadata,
        )
        call.running[turn] = self.tasks.start(run_turn(on_new_message, message), "phone turn")
        return await self._awaited(call, turn)

    async def _poll(
        self, call: Call, form: Mapping[str, str], turn: int, on_new_message: MessageHandler
    ) -> str:
        if turn not in call.running:
            return self.twiml.prompt(call.next_turn(), ANYTHING_ELSE, keypad=False)
        return call.answered.get(turn) or await self._awaited(call, turn)

    async def _no_input(
        self, call: Call, form: Mapping[str, str], turn: int, on_new_message: MessageHandler
    ) -> str:
        return call.answered.get(turn) or await self._missed(call, turn, "silence")

    async def _dial_ended(
        self, call: Call, form: Mapping[str, str], turn: int, on_new_message: MessageHandler
    ) -> str:
        if turn not in call.answered:
            status = form.get("DialCallStatus", "")
            if status not in CONNECTED_DIAL_STATUSES:
                call.answered[turn] = await self._callback_promise(call, status or "unknown")
            else:
                duration = form.get("DialCallDuration", "")
                seconds = int(duration) if duration.isdigit() else 0
                after = await self._record(self.records.agent_call_ended, call.sid, seconds)
                if after == "returned":  # the agent handed the caller back to the bot
                    call.answered[turn] = self._ask(call, ANYTHING_ELSE, {})
                else:  # the caller is still on the line once the agent hangs up: ask for a score
                    call.answered[turn] = self.twiml.rating(
                        call.next_turn(),
                        self.say("utter_phone_rating_request"),
                        self.say("utter_phone_goodbye"),
                    )
        return call.answered[turn]

    async def _rated(
        self, call: Call, form: Mapping[str, str], turn: int, on_new_message: MessageHandler
    ) -> str:
        if turn not in call.answered:
            digits = form.get("Digits", "").strip()
            scored = digits in RATING_KEYS and await self._record(self.records.rating, call.sid, int(digits))
            call.answered[turn] = self.twiml.goodbye(
                self.say("utter_phone_rating_thanks" if scored else "utter_phone_goodbye")
            )
        return call.answered[turn]

    async def _call_ended(
        self, call: Call, form: Mapping[str, str], turn: int, on_new_message: MessageHandler
    ) -> str:
        if form.get("CallStatus") in ENDED_STATUSES and self.calls.close(call.sid):
            await self._record(self.records.call_ended, call.sid)
            # Restart closes the call's conversation (its tracker keeps the history). Not after a transfer:
            # the bot paused before listening, so Rasa would not read the restart (its default action
            # needs a listen first) and would answer it with fallbacks; the agent's close resumes it.
            if call.running and not call.transferred:
                await on_new_message(
                    UserMessage("/restart", TurnOutput(self.name()), call.sid, input_channel=self.name())
                )
        return self.twiml.empty()

    # -- building answers --

    async def _awaited(self, call: Call, turn: int) -> str:
        """The turn's answer if it ends in time, else a hold loop that keeps the gateway waiting."""
        task = call.running[turn]
        if not await finished_within(task, self.settings.hold_after_s):
            call.held[turn] = call.held.get(turn, 0) + 1
            return self.twiml.hold(turn, first=call.held[turn] == 1)
        if turn not in call.answered:
            call.answered[turn] = await self._answer(call, task)
        return call.answered[turn]

    async def _answer(self, call: Call, task: "asyncio.Task[List[BotMessage]]") -> str:
        if task.exception() is not None:
            return self._ask(call, TURN_FAILED, {})
        messages = task.result()
        spoken = "".join(speakable(m.text) for m in messages if m.text)
        call.ticket_id = next((m.ticket_id for m in messages if m.ticket_id), call.ticket_id)
        said = {m.utter_action for m in messages}
        if said & self.settings.transfer_responses:
            return await self._transfer(call, spoken)
        if said & self.settings.goodbye_responses:
            return self.twiml.goodbye(spoken)
        buttons = [b for m in messages for b in m.buttons][:9]
        choices = {str(i): b.get("title", "") for i, b in enumerate(buttons, 1)}
        keypad = {str(i): b.get("payload") or b.get("title", "") for i, b in enumerate(buttons, 1)}
        return self._ask(
            call, (spoken or ANYTHING_ELSE) + (keypad_prompt(choices) if choices else ""), keypad
        )

    def _ask(self, call: Call, prompt: str, keypad: Dict[str, str]) -> str:
        call.prompt, call.keypad = prompt, keypad
        return self.twiml.prompt(call.next_turn(), prompt, keypad=bool(keypad))

    async def _missed(self, call: Call, turn: int, kind: str) -> str:
        """Silence or an unclear answer: ask again, then give up (goodbye) or pass to a person."""
        call.misses += 1
        if call.misses <= self.settings.max_reprompts:
            answer = self.twiml.prompt(
                call.next_turn(), REPROMPT[kind] + call.prompt, keypad=bool(call.keypad)
            )
        elif kind == "silence":
            answer = self.twiml.goodbye(NO_INPUT_GOODBYE)
        else:
            answer = await self._transfer(call, NO_MATCH_TRANSFER)
        call.answered[turn] = answer
        return answer

    async def _transfer(self, call: Call, spoken: str) -> str:
        call.transferred = True
        if not self.settings.agent_number:
            return await self._callback_promise(call, "no agent line configured")
        return self.twiml.transfer(
            call.next_turn(), spoken, self.settings.agent_number, self.settings.caller_id
        )

    @staticmethod
    async def _record(record: Callable[..., T], *args: Any) -> Optional[T]:
        """Writes what became of the call; a failure is logged and the call goes on."""
        try:
            return await asyncio.to_thread(record, *args)
        except Exception:
            logger.exception("recording the phone call's %s failed", record.__name__)
            return None

    async def _callback_promise(self, call: Call, reason: str) -> str:
        """Nobody took the transfer: keep the ticket for a call back, say so, hang up."""
        # If that cannot be written, the promise still stands: the agents see the call in the gateway's log.
        ticket = await self._record(
            self.records.missed_transfer, call.ticket_id, call.sid, call.caller, reason
        )
        return self.twiml.goodbye(
            MISSED_TRANSFER.format(ticket=f"已为您登记工单 {spell(ticket)}，" if ticket else "")
        )
