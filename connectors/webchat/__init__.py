"""Secure web chat channel and its embeddable Chinese widget.

credentials.yml key: `connectors.webchat.WebChatInput`.  See docs/webchat.md.
"""

from connectors.webchat.channel import HandoffStatus, WebChatInput, WebChatOutput

__all__ = ["HandoffStatus", "WebChatInput", "WebChatOutput"]
