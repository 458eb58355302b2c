"""A channel that cannot deliver an agent's message says why, in Chinese, for the agent who wrote it.

The workspace reaches the channel only through Rasa (the workspace bridge channel), which answers a
failed delivery with the channel's exception text; the reason is marked so that the workspace finds
it there.
"""

from __future__ import annotations

from typing import Optional

MARK = "【未送达】"


class DeliveryRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(f"{MARK}{reason}")


def refusal_reason(error_text: str) -> Optional[str]:
    """The channel's reason inside an error answer, if a channel refused the delivery."""
    if MARK not in error_text:
        return None
    return error_text.split(MARK, 1)[1].strip() or None
