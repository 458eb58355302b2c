"""What the workspace and the channels say to customers outside a bot turn comes from the domain's
responses, like everything the bot says, so designers edit it in domain.yml without Python."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import yaml

DOMAIN = Path(__file__).resolve().parents[1] / "domain.yml"


class Wording:
    def __init__(self, responses: Dict[str, str]) -> None:
        self.responses = responses

    @classmethod
    def from_domain(cls, path: Path = DOMAIN) -> "Wording":
        domain = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls({name: variations[0]["text"] for name, variations in domain["responses"].items()})

    def __call__(self, response: str, **values: Any) -> str:
        return self.responses[response].format(**values)
