"""Personal data in free text, found with maintained validators and masked before it rests.

- 手机号 and 座机: `phonenumbers` (+86 and domestic forms, spaces and dashes, next to Chinese text);
- 身份证号: 18 characters with the check digit and a birth date `stdnum.cn.ric` accepts;
- 银行卡号: 13–19 digits (spaces or dashes between groups allowed) passing Luhn (`stdnum.luhn`);
- 邮箱; 地址: a street address (…路/街/道/巷/弄 + 号, and the building, unit and room after it).

A number that touches letters or more digits is part of something else (order ids XH2611010001,
ticket ids, flight numbers, amounts, dates), so it is left alone. Masks keep what a person needs to
recognise the value (the mobile's first 3 and last 4 digits, as the bot's answers show it; a card's
last 4; the address down to the district) and nothing that identifies the customer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

import phonenumbers
from stdnum import luhn
from stdnum.cn import ric

from business.text import normalise

KIND_NAMES = {
    "mobile": "手机号",
    "landline": "座机号",
    "id_card": "身份证号",
    "bank_card": "银行卡号",
    "email": "邮箱",
    "address": "地址",
}

_ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A phone number has at least 7 digits, however it is spaced, and its first digit does not continue a
# run of letters or digits (such a number touches more and is refused below). `phonenumbers`' matcher
# is the costliest step of masking a turn, so text without such a start (an order id XH2611010001,
# which a turn's events repeat a dozen times) is not handed to it.
_PHONE_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])\d(?:\D{0,3}\d){6}")
_CN = r"[\u4e00-\u9fff]"
_NUMBER = r"[0-9０-９一二三四五六七八九十百零〇]+"
_ADDRESS = re.compile(
    rf"(?P<area>(?:{_CN}{{2,7}}(?:省|自治区))?(?:{_CN}{{2,7}}市)?(?:{_CN}{{1,7}}(?:区|县|旗))?)"
    rf"(?P<street>(?:{_CN}|[A-Za-z0-9]){{1,20}}?(?:路|街|大道|道|巷|弄|胡同){_NUMBER}号"
    rf"(?:(?:{_CN}|[A-Za-z0-9-]){{0,20}}?{_NUMBER}(?:号楼|栋|幢|座|单元|层|楼|室|号))*)"
)
_PHONE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.FIXED_LINE: "landline",
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "mobile",
}


@dataclass(frozen=True)
class Found:
    kind: str  # mobile / landline / id_card / bank_card / email / address
    start: int
    end: int
    text: str  # as folded (half-width digits), which masks the same way whatever the customer typed


def _resident_id(number: str) -> bool:
    """Check digit and birth date as `stdnum.cn.ric` reads them. Its region table is not required to
    know the region: a number from a region it lacks must still be masked."""
    number = number.upper()
    if ric.calc_check_digit(number) != number[-1]:
        return False
    try:
        ric.get_birth_date(number)
    except ValueError:  # stdnum's InvalidComponent: no such day
        return False
    return True


def _touches_more(text: str, start: int, end: int) -> bool:
    """A digit run that continues into letters or digits belongs to an id, not to a person."""
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    return bool(re.match(r"[0-9A-Za-z]", before) or re.match(r"[0-9A-Za-z]", after))


def find(text: str) -> List[Found]:
    """Every piece of personal data in the text, in order, without overlaps. Found in the folded
    text (full-width digits, traditional characters), which has the same length as the original."""
    return _find(normalise(text))


def _find(text: str) -> List[Found]:
    found: List[Found] = []
    for match in _ID_CARD.finditer(text):
        if _resident_id(match.group()):
            found.append(Found("id_card", match.start(), match.end(), match.group()))
    for match in _EMAIL.finditer(text):
        found.append(Found("email", match.start(), match.end(), match.group()))
    phones = phonenumbers.PhoneNumberMatcher(text, "CN") if _PHONE_CANDIDATE.search(text) else ()
    for phone in phones:
        kind = _PHONE_TYPES.get(phonenumbers.number_type(phone.number))
        if kind is not None and not _touches_more(text, phone.start, phone.end):
            found.append(Found(kind, phone.start, phone.end, phone.raw_string))
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if luhn.is_valid(digits):
            found.append(Found("bank_card", match.start(), match.end(), match.group()))
    for match in _ADDRESS.finditer(text):
        found.append(Found("address", match.start("street"), match.end("street"), match.group("street")))
    # The first kind that claimed a span keeps it (an ID number is not also a card number).
    kept: List[Found] = []
    for item in sorted(found, key=lambda f: (f.start, -f.end)):
        if not any(item.start < k.end and k.start < item.end for k in kept):
            kept.append(item)
    return kept


def masked(kind: str, value: str) -> str:
    """The stored form of one value of this kind."""
    digits = re.sub(r"\D", "", value)
    if kind == "mobile":
        national = digits[-11:]
        return f"{national[:3]}****{national[-4:]}"
    if kind == "landline":
        return f"{digits[:3]}****{digits[-4:]}" if len(digits) > 7 else "****"
    if kind == "id_card":
        return value[:3] + "*" * 14 + value[-1]
    if kind == "bank_card":
        return "*" * (len(digits) - 4) + digits[-4:]
    if kind == "email":
        name, _, domain = value.partition("@")
        return f"{name[:1]}***@{domain}"
    return "****"  # an address past its district


# Every kind needs a digit, an @ or a 号 once folded (a full-width or circled digit is a digit,
# 號 is 号): text with none holds nothing, and most text of a turn (names, intents, most words) is
# passed without folding it, the costliest step of masking after the phone matcher.
_MAYBE_PERSONAL = re.compile(r"[\d@号號]")


def mask(text: str) -> str:
    """The text with every piece of personal data in it masked."""
    if not _MAYBE_PERSONAL.search(unicodedata.normalize("NFKC", text)):
        return text
    pieces, cursor = [], 0
    for item in find(text):
        pieces.append(text[cursor : item.start])
        pieces.append(masked(item.kind, item.text))
        cursor = item.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def kinds(text: str) -> List[str]:
    """The Chinese names of the kinds of personal data in the text (each once, in order found)."""
    names: List[str] = []
    for item in find(text):
        name = KIND_NAMES[item.kind]
        if name not in names:
            names.append(name)
    return names


# Slots that hold personal data for a moment (verification): what rests instead of their value.
SENSITIVE_SLOTS = {"phone_number", "id_last4"}
# An answer to "身份证后四位" is a fragment of an ID number, with nothing around it to recognise it by.
_ID_FRAGMENT = re.compile(r"(?<![0-9A-Za-z])\d{3}[\dXx](?![0-9A-Za-z])")
ASKS_FOR_FRAGMENT = "id_last4"


def mask_value(value: Any, fragment: bool = False, seen: Optional[Dict[str, str]] = None) -> Any:
    """Every string inside `value` masked (dicts and lists walked); `fragment` also masks 4-character
    ID tails. `seen` keeps the texts masked so far with this `fragment`, for a caller that masks many
    values at once: a turn's events repeat the message, its ids and the event ids a dozen times."""
    if isinstance(value, str):
        if seen is not None and value in seen:
            return seen[value]
        text = mask(value)
        text = _ID_FRAGMENT.sub("****", text) if fragment else text
        if seen is not None:
            seen[value] = text
        return text
    # dict before the Mapping ABC, whose isinstance check costs more than masking most values
    if isinstance(value, (dict, Mapping)):
        return {key: mask_value(item, fragment, seen) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(item, fragment, seen) for item in value]
    return value


def masked_events(events: Sequence[Mapping[str, Any]], asked: Optional[str] = None) -> List[Dict[str, Any]]:
    """Events as they may rest (tracker store, event broker): personal data in any text masked, the
    verification slots' values replaced, and the customer's answer to the ID-tail question masked
    whole. `asked` is the slot the bot was asking for before the first of them."""
    resting: List[Dict[str, Any]] = []
    seen: Dict[bool, Dict[str, str]] = {False: {}, True: {}}
    for event in events:
        kind = event.get("event")
        fragment = kind == "user" and asked == ASKS_FOR_FRAGMENT
        data: Dict[str, Any] = mask_value(event, fragment, seen[fragment])
        if kind == "slot" and event.get("name") in SENSITIVE_SLOTS and event.get("value"):
            value = str(event["value"])
            data["value"] = masked("mobile", value) if event.get("name") == "phone_number" else "****"
        if kind == "slot" and event.get("name") == "requested_slot":
            asked = event.get("value")
        resting.append(data)
    return resting
