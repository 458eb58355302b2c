"""Is a reply to an open question (a refund reason, a complaint) the answer, or a request to stop?

Inside a form the answer to an open question is content: 不想要了 is the most common
return reason there is, not a no.  A reply ends the form only when it clearly asks to
stop (算了, 不办了, 不退了, 取消这个申请 …); a reply that could be either (不要了 alone,
or a stop word followed by a reason) is asked about once instead of guessed.
"""

from __future__ import annotations

import enum
import re

from business.text import normalise


class ReplyKind(enum.Enum):
    CONTENT = "content"  # the answer to the question
    STOP = "stop"  # the customer wants to end what the form was doing
    UNCLEAR = "unclear"  # could be either: ask which


_ACT = r"(?:办|弄|搞|申请|退|退货|退款|换|投诉|提交|继续|处理|要退|管|问|取消|改|改签|查|验证)"
_STOP_VERB = r"(?:取消|撤销|撤回|停止|终止|结束|放弃)"
# Phrases that ask to stop the request itself, wherever they stand in the reply.
STOP_PHRASES = re.compile(
    "|".join(
        [
            r"算了",
            r"不(?:想|用|要|必|需要)?(?:再)?" + _ACT + r"了",  # 不办了 · 不想退了 · 不用申请了 · 不投诉了
            r"先不" + _ACT + r"?(?:了|吧)?",  # 先不弄了 · 先不了 · 先不退
            r"别" + _ACT + r"了",  # 别退了
            _STOP_VERB
            + r"(?:一下)?(?:这个|这次|本次|我的|刚才的|当前的?)?(?:申请|操作|退货|退款|投诉|流程|办理)",
            r"不弄|不搞|没事了|没什么事了|不麻烦了|等等再说|以后再说|回头再说|改天再说|我再想想|再考虑(?:一下)?",
            r"\bforget it\b|\bnever ?mind\b",
        ]
    ),
    re.IGNORECASE,
)
# A bare 取消 / 结束 is a stop only as the whole reply: 你们把我的订单取消了 is a complaint.
BARE_STOP_WORDS = re.compile(_STOP_VERB + r"|\bcancel\b|\bstop\b|\bquit\b", re.IGNORECASE)
# Replies that are a stop or a reason depending on what the question was: 不要了 to
# "why return it?" may be the reason (I don't want it any more) or "forget it".
UNCLEAR_REPLIES = re.compile(r"(?:不要|不用|不需要)了?", re.IGNORECASE)
# What carries no content once the stop phrases are taken out.
FILLER = re.compile(
    r"[\s\W_]|[吧了啊呀哈嗯哦噢呢吗嘛的呗我你们这个那个还是就先要想]|谢谢|谢了|麻烦|不好意思|抱歉",
    re.IGNORECASE,
)


def _residue(text: str, *patterns: re.Pattern[str]) -> str:
    for pattern in patterns:
        text = pattern.sub("", text)
    return FILLER.sub("", text)


def open_reply_kind(text: str) -> ReplyKind:
    """What a reply to an open question is: the answer, a stop, or unclear."""
    folded = normalise(text or "").strip()  # simplified, half-width
    if not FILLER.sub("", folded):
        return ReplyKind.UNCLEAR
    if not _residue(folded, STOP_PHRASES, BARE_STOP_WORDS):
        return ReplyKind.STOP
    if STOP_PHRASES.search(folded):  # 算了，质量太差 may be the reason said with a sigh
        return ReplyKind.UNCLEAR
    if not _residue(folded, UNCLEAR_REPLIES):
        return ReplyKind.UNCLEAR
    return ReplyKind.CONTENT
