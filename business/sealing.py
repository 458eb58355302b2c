"""Personal data kept for one purpose (a caller's number, to call them back) is sealed at rest.

AES-256-GCM with the key in `XINGHE_DATA_KEY` (64 hex digits; `make run` creates one in var/ and
hands it to every process). The purpose is bound into the seal as associated data, so a sealed
value copied to another purpose does not open. Without a key nothing is sealed and nothing opens:
the callers of `seal` keep the masked form only and say so.
"""

from __future__ import annotations

import base64
import os
import secrets
from typing import Optional

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_ENV = "XINGHE_DATA_KEY"
VERSION = "v1"
NONCE_BYTES = 12


class SealingUnavailable(Exception):
    """No usable key, or a seal that this key does not open; the text is for the agent."""


def _cipher() -> AESGCM:
    key = os.environ.get(KEY_ENV, "")
    try:
        raw = bytes.fromhex(key)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise SealingUnavailable(f"未配置数据加密密钥（{KEY_ENV}：64 位十六进制）")
    return AESGCM(raw)


def available() -> bool:
    try:
        _cipher()
    except SealingUnavailable:
        return False
    return True


def seal(value: str, purpose: str) -> str:
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = _cipher().encrypt(nonce, value.encode("utf-8"), purpose.encode("utf-8"))
    return f"{VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


def unseal(sealed: Optional[str], purpose: str) -> str:
    version, _, body = (sealed or "").partition(":")
    if version != VERSION or not body:
        raise SealingUnavailable("只保存了打码后的信息（当时未配置数据加密密钥），无法显示完整内容")
    try:
        raw = base64.urlsafe_b64decode(body.encode("ascii"))
        value = _cipher().decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode("utf-8"))
    except (InvalidTag, ValueError) as error:  # ValueError: not base64, or too short to hold a nonce
        raise SealingUnavailable("无法解开保存的信息（数据加密密钥已更换？）") from error
    return value.decode("utf-8")
