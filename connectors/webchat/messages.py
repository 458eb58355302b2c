"""The widget's message schema, built from Rasa responses and user input.

One Rasa response becomes one widget message (one bubble), whatever it holds:

    {"id", "ts", "role": "bot", "text"?, "buttons"?, "quick_replies"?, "image"?,
     "elements"?, "links"?, "custom"?}

buttons / quick_replies: [{"title", "payload"}] or [{"title", "url"}];
elements (cards): [{"title", "subtitle"?, "image_url"?, "url"?, "buttons"?}];
links: [{"title", "url"}].  A `custom` payload may carry any of these keys
(`cards` is accepted for `elements`); what is left is passed on untouched under
`custom`.  Only http(s) URLs survive, so a response can never smuggle a
`javascript:` link into the page.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Dict, Iterable, List, Optional

RICH_KEYS = ("text", "buttons", "quick_replies", "image", "elements", "links")
# A button title is short; a longer `display` is not from our widget.
MAX_DISPLAY_CHARS = 60


def new_message(role: str, **fields: Any) -> Dict[str, Any]:
    return {"id": uuid.uuid4().hex, "ts": time.time(), "role": role, **fields}


def safe_url(url: object) -> Optional[str]:
    if isinstance(url, str) and url.strip().lower().startswith(("https://", "http://", "/")):
        return url.strip()
    return None


def _button(raw: Dict[str, Any]) -> Optional[Dict[str, str]]:
    title = str(raw.get("title") or "").strip()
    if not title:
        return None
    url = safe_url(raw.get("url"))
    if url:
        return {"title": title, "url": url}
    payload = raw.get("payload")
    return {"title": title, "payload": str(payload if payload is not None else title)}


def _buttons(raw: Optional[Iterable[Dict[str, Any]]]) -> List[Dict[str, str]]:
    return [b for b in (_button(r) for r in raw or [] if isinstance(r, dict)) if b]


def _card(raw: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    title = str(raw.get("title") or "").strip()
    if not title:
        return None
    default_action = raw.get("default_action") or {}
    card: Dict[str, Any] = {
        "title": title,
        "subtitle": str(raw.get("subtitle") or ""),
        "image_url": safe_url(raw.get("image_url")),
        "url": safe_url(raw.get("url") or default_action.get("url")),
        "buttons": _buttons(raw.get("buttons")),
    }
    return {k: v for k, v in card.items() if v}


def _links(raw: Optional[Iterable[Dict[str, Any]]]) -> List[Dict[str, str]]:
    links = []
    for link in raw or []:
        url = safe_url(link.get("url")) if isinstance(link, dict) else None
        if url:
            links.append({"title": str(link.get("title") or url), "url": url})
    return links


def _rich_fields(response: Dict[str, Any]) -> Dict[str, Any]:
    elements = response.get("elements") or response.get("cards")
    if isinstance(elements, dict):  # Rasa's socketio shape: one element, not a list
        elements = [elements]
    fields = {
        "text": str(response["text"]).strip() if response.get("text") else None,
        "buttons": _buttons(response.get("buttons")),
        "quick_replies": _buttons(response.get("quick_replies")),
        "image": safe_url(response.get("image")),
        "elements": [c for c in (_card(e) for e in elements or [] if isinstance(e, dict)) if c],
        "links": _links(response.get("links")),
    }
    attachment = response.get("attachment")
    if isinstance(attachment, dict) and attachment.get("type") == "image" and not fields["image"]:
        fields["image"] = safe_url((attachment.get("payload") or {}).get("src"))
    return {k: v for k, v in fields.items() if v}


def bot_message(response: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The widget message for one Rasa response; None when there is nothing to show."""
    fields = _rich_fields(response)
    custom = response.get("custom")
    if isinstance(custom, dict):
        for key, value in _rich_fields(custom).items():
            fields.setdefault(key, value)
        rest = {k: v for k, v in custom.items() if k not in RICH_KEYS and k != "cards"}
        if rest:
            fields["custom"] = rest
    return new_message("bot", **fields) if fields else None


def user_message(text: str, display: object = None) -> Dict[str, Any]:
    """What the customer sent; `display` is the button title shown instead of a /payload."""
    shown = display.strip()[:MAX_DISPLAY_CHARS] if isinstance(display, str) and display.strip() else text
    return new_message("user", text=shown)
