"""The everyday journeys the load measurements send (scripts/locustfile.py, scripts/turn_cost.py): each
is a new customer's messages, in order."""

from __future__ import annotations

from typing import List

JOURNEYS: List[List[str]] = [
    ["你好", "帮我查下订单XH2611010001到哪了"],
    ["运费怎么算"],
    ["退货要多久能退款"],
    ["查订单", "XH2611010001"],
    ["你们几点上班", "谢谢"],
]
