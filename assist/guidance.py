"""Live guidance: alerts on what the customer writes (anger, a regulator) and warnings on the
agent's draft before it is sent (a promise the rules do not allow, full personal data).

Personal data is found by the business core's detectors (`business.privacy`: maintained
validators, so that order numbers and amounts are not mistaken for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

from business.privacy import kinds as personal_data
from business.text import normalise

LEXICON_PATH = Path(__file__).with_name("guidance.yml")


@dataclass(frozen=True)
class Alert:
    kind: str  # angry / regulator / promise / personal_data
    label: str  # what the agent reads
    advice: str


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
        found = personal_data(draft)
        if found:
            warnings.append(
                Alert(
                    "personal_data",
                    f"回复里有完整的{'、'.join(found)}",
                    "不要把完整的个人信息发给客户，请只说后四位",
                )
            )
        return warnings
