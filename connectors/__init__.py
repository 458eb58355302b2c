"""Custom Rasa input channels (WeChat Official Account, phone, web chat).

Each is configured in credentials.yml by its module path; secrets come from
environment variables (see docs/channels.md).
"""
