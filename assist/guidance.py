"""Live guidance: alerts on what the customer writes (anger, a regulator) and warnings on the
agent's draft before it is sent (a promise the rules do not allow, full personal data).

Personal data is found by shape and checked where a checksum exists (the ID card's check digit,
Luhn for bank cards), so that order numbers and amounts are not mistaken for it; the patterns
work where digits touch Chinese characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

from business.text import normalise

LEXICON_PATH = Path(__file__).with_name("guidance.yml")

MOBILE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?(1[3-9]\d[-\s]?\d{4}[-\s]?\d{4})(?!\d)")
ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
CARD = re.compile(r"(?<!\d)((?:\d[\s-]?){15,18}\d)(?!\d)")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class Alert:
    kind: str  # angry / regulator / promise / personal_data
    label: str  # what the agent reads
    advice: str


def id_card_valid(number: str) -> bool:
    """The check digit of an 18-digit resident ID (GB 11643)."""
    body, check = number[:17], number[17].upper()
    return ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11] == check


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def personal_data(text: str) -> List[str]:
    """The kinds of full personal data in the text: 手机号, 身份证号, 银行卡号."""
    folded = normalise(text)
    found: List[str] = []
    ids = [m for m in ID_CARD.findall(folded) if id_card_valid(m)]
    if ids:
        found.append("身份证号")
    without_ids = ID_CARD.sub(" ", folded) if ids else folded
    if MOBILE.search(without_ids):
        found.append("手机号")
    cards = (re.sub(r"\D", "", m) for m in CARD.findall(without_ids))
    if any(luhn_valid(card) for card in cards):
        found.append("银行卡号")
    return found


class Lexicon:
    """The phrases supervisors keep in guidance.yml."""

    def __init__(
        self,
        angry: Tuple[str, ...],
        regulator: Tuple[str, ...],
        promises: Tuple[str, ...],
        refund_promises: Tuple[str, ...],
    ) -> None:
        self.angry = angry
        self.regulator = regulator
        self.promises = promises
        self.refund_promises = refund_promises

    @classmethod
    def load(cls, path: Path = LEXICON_PATH) -> "Lexicon":
        data: Dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        keys = ("angry", "regulator", "promises", "refund_promises")
        return cls(*(tuple(str(p) for p in data.get(key) or ()) for key in keys))

    def promises_a_refund(self, draft: str) -> bool:
        folded = normalise(draft)
        return any(phrase in folded for phrase in self.refund_promises)

    def customer_alerts(self, text: str) -> List[Alert]:
        folded = normalise(text)
        alerts = []
        if any(phrase in folded for phrase in self.regulator):
            alerts.append(Alert("regulator", "提到监管或投诉渠道", "建议先安抚，按投诉流程登记并转投诉组"))
        if any(phrase in folded for phrase in self.angry):
            alerts.append(Alert("angry", "客户情绪激动", "先致歉安抚；问题解决不了时按投诉流程登记"))
        return alerts

    def draft_warnings(self, draft: str) -> List[Alert]:
        folded = normalise(draft)
        warnings = []
        promised = [phrase for phrase in self.promises if phrase in folded]
        if promised:
            warnings.append(
                Alert(
                    "promise",
                    f"回复里承诺了“{promised[0]}”",
                    "赔偿、补偿等规则外的承诺需要班长同意，发出前请确认",
                )
            )
        kinds = personal_data(draft)
        if kinds:
            warnings.append(
                Alert(
                    "personal_data",
                    f"回复里有完整的{'、'.join(kinds)}",
                    "不要把完整的个人信息发给客户，请只说后四位",
                )
            )
        return warnings
