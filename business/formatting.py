"""How amounts, dates and personal data are shown to customers."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal

PAYMENT_METHOD_NAMES = {
    "wallet": "星河钱包",
    "wechat": "微信支付",
    "alipay": "支付宝",
    "bank_card": "银行卡",
}


def yuan(amount: Decimal) -> str:
    """Two decimals, always: 1280.5 -> '1280.50'."""
    return f"{Decimal(amount).quantize(Decimal('0.01')):.2f}"


def percent(rate: Decimal) -> str:
    """0.10 -> '10' (fee rates are whole percents)."""
    return f"{rate * 100:.0f}"


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


def mask_name(name: str) -> str:
    """张伟 -> 张*, 欧阳娜娜 -> 欧***."""
    return name[:1] + "*" * max(len(name) - 1, 1)


def month_day(moment: date | datetime) -> str:
    return f"{moment.month}月{moment.day}日"


def month_day_time(moment: datetime) -> str:
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def fold_width(text: str) -> str:
    """Full-width letters and digits to ASCII (ＸＨ２６… -> XH26…)."""
    return unicodedata.normalize("NFKC", text)


def compact_id(text: str) -> str:
    """An id as typed, made comparable: width folded, spaces and dashes dropped, upper case."""
    return re.sub(r"[\s\-_]", "", fold_width(text)).upper()
