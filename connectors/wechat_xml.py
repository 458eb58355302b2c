"""WeChat XML in and out: hostile-input-safe parsing, CDATA-safe replies, byte-limited text."""

from __future__ import annotations

import re
import time
from typing import Dict, List, Optional
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from connectors.wechat_crypto import EncryptedReply

# XML 1.0 forbids most C0 controls; WeChat rejects a reply that contains them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Where a long text may be cut: the last paragraph or sentence end that fits,
# else the last comma or space, else between two characters.
_BREAK_TIERS = (("\n", "。", "！", "？", "；", "!", "?"), ("，", ",", "、", " "))


class MalformedXml(ValueError):
    """Not a WeChat message: unparsable, or with a DTD/entities (refused outright)."""


def parse_fields(body: bytes) -> Dict[str, str]:
    """The `<xml>` document's child elements as {tag: text}; DTDs and entities are refused."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as error:
        raise MalformedXml(str(error)) from error
    return {child.tag: (child.text or "") for child in root}


def cdata(value: str) -> str:
    """`value` as CDATA that cannot be closed early by a `]]>` inside it."""
    safe = _XML_ILLEGAL.sub("", value).replace("]]>", "]]]]><![CDATA[>")
    return f"<![CDATA[{safe}]]>"


def text_reply(to_user: str, from_user: str, content: str, now: Optional[int] = None) -> str:
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(now if now is not None else time.time())}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content>{cdata(content)}</Content></xml>"
    )


def encrypted_envelope(reply: EncryptedReply) -> str:
    return (
        f"<xml><Encrypt>{cdata(reply.encrypt)}</Encrypt><MsgSignature>{cdata(reply.msg_signature)}</MsgSignature>"
        f"<TimeStamp>{reply.timestamp}</TimeStamp><Nonce>{cdata(reply.nonce)}</Nonce></xml>"
    )


def split_by_bytes(text: str, limit: int) -> List[str]:
    """Pieces of at most `limit` UTF-8 bytes, cut at paragraph/sentence ends when possible."""
    pieces: List[str] = []
    rest = text.strip()
    while len(rest.encode("utf-8")) > limit:
        head = rest.encode("utf-8")[:limit].decode("utf-8", errors="ignore")  # never mid-character
        cut = len(head)
        for marks in _BREAK_TIERS:
            last = max(head.rfind(mark) for mark in marks)
            if last > 0:
                cut = last + 1
                break
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces
