"""WeChat Official Account signatures and safe-mode (AES) message encryption.

Safe mode: AES-256-CBC with IV = key[:16] over
random(16) + len(msg) (4 bytes, big-endian) + msg + AppId, padded with PKCS#7 to a
**32-byte** block (not AES's 16: unpadding by 16 loses about half of all messages).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK = 32
RANDOM_PREFIX = 16


class SignatureMismatch(Exception):
    """A signature that does not match: the request did not come from WeChat."""


class UndecryptableMessage(Exception):
    """Ciphertext that no configured key opens, or that names another AppId."""


def signature(*parts: str) -> str:
    """sha1 over the parts sorted and concatenated, as lowercase hex."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(expected: Optional[str], *parts: str) -> None:
    if not expected or not hmac.compare_digest(signature(*parts), expected.lower()):
        raise SignatureMismatch()


def pkcs7_pad(data: bytes) -> bytes:
    count = PAD_BLOCK - len(data) % PAD_BLOCK
    return data + bytes([count]) * count


def pkcs7_unpad(data: bytes) -> bytes:
    count = data[-1] if data else 0
    if not 1 <= count <= PAD_BLOCK or len(data) < count or data[-count:] != bytes([count]) * count:
        raise UndecryptableMessage("bad padding")
    return data[:-count]


def aes_key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError("EncodingAESKey must be the 43 characters shown in the WeChat console")
    return key


@dataclass(frozen=True)
class EncryptedReply:
    encrypt: str
    msg_signature: str
    timestamp: str
    nonce: str


class MessageCipher:
    """Decrypts pushes and encrypts replies for one account.

    Several keys support rotation: the current EncodingAESKey first, then the
    previous one; a reply is encrypted with the key that opened the message.
    """

    def __init__(self, token: str, app_id: str, encoding_aes_keys: Sequence[str]) -> None:
        self.token = token
        self.app_id = app_id
        self.keys = [aes_key(k) for k in encoding_aes_keys if k]
        if not self.keys:
            raise ValueError("safe mode needs an EncodingAESKey")

    def decrypt(
        self, encrypted: str, msg_signature: Optional[str], timestamp: str, nonce: str
    ) -> Tuple[str, int]:
        """(plaintext XML, index of the key that opened it); checks msg_signature first."""
        check_signature(msg_signature, self.token, timestamp, nonce, encrypted)
        try:
            ciphertext = base64.b64decode(encrypted, validate=True)
        except ValueError as error:
            raise UndecryptableMessage("not base64") from error
        if not ciphertext or len(ciphertext) % 16:
            raise UndecryptableMessage("not whole AES blocks")
        for index, key in enumerate(self.keys):
            try:
                return self._open(key, ciphertext), index
            except UndecryptableMessage:
                continue
        raise UndecryptableMessage("no key opens the message for this AppId")

    def _open(self, key: bytes, ciphertext: bytes) -> str:
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = pkcs7_unpad(decryptor.update(ciphertext) + decryptor.finalize())
        if len(plain) < RANDOM_PREFIX + 4:
            raise UndecryptableMessage("too short")
        (length,) = struct.unpack(">I", plain[RANDOM_PREFIX : RANDOM_PREFIX + 4])
        body = plain[RANDOM_PREFIX + 4 :]
        if length > len(body) or body[length:] != self.app_id.encode("utf-8"):
            raise UndecryptableMessage("wrong AppId")
        try:
            return body[:length].decode("utf-8")
        except UnicodeDecodeError as error:
            raise UndecryptableMessage("not UTF-8") from error

    def encrypt(
        self, xml: str, timestamp: str, nonce: str, key_index: int = 0, random_prefix: Optional[bytes] = None
    ) -> EncryptedReply:
        key = self.keys[key_index]
        message = xml.encode("utf-8")
        plain = (random_prefix or os.urandom(RANDOM_PREFIX)) + struct.pack(">I", len(message)) + message
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        sealed = encryptor.update(pkcs7_pad(plain + self.app_id.encode("utf-8"))) + encryptor.finalize()
        encrypted = base64.b64encode(sealed).decode("ascii")
        return EncryptedReply(encrypted, signature(self.token, timestamp, nonce, encrypted), timestamp, nonce)
