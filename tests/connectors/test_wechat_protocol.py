"""WeChat signatures, safe-mode crypto and XML, checked against wechatpy and the published vectors."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature as wechatpy_check_signature

from connectors.wechat_crypto import (
    MessageCipher,
    SignatureMismatch,
    UndecryptableMessage,
    aes_key,
    signature,
)
from connectors.wechat_xml import (
    MalformedXml,
    cdata,
    parse_fields,
    split_by_bytes,
    text_reply,
)

# Vector A: the official WXBizMsgCrypt sample (公众号 safe mode).
TOKEN, AES_KEY, APP_ID = "spamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2"
TIMESTAMP, NONCE = "1409735669", "1320562132"
MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9Fr"
    "XpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WG"
    "zjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBY"
    "YI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
# Vector C: our reply, encrypted with the random prefix fixed.
REPLY_SIGNATURE = "adb8deb3fe217a667a6a420af99ce8064c70236f"
REPLY_ENCRYPT = (
    "QCTqNwyPmqRu4xuyqVsjax/v/82X8PtdYyh89/Ro7s8BKFx+UODu84IDNOelk2ThtU8sudTQDX/WmIxEoaimBtBX1f27Slezi5agnzlqhWQeL0"
    "vo6x7B7LZUpTkrNy7Anbx5chyc86d0XF1bkXrI9PAwR3NCS7e67CDUBLj9h3A8NkqHyZJVzK60ByO+vwpoxlXhz0nlo7sKki9/QL+x1JZ//ewBE"
    "LK1vk+1MfCcFOr7lRoPGIbx6KH4ayOQbVYdsjFYooS3CKV1vuyLY+yOfWUOUDRiF5co/HXE4vOaFTQsybAW7W3OtGoql0W+WXMaZwkA2Is8p2+M"
    "t8uOuhZ4BIIyQcrahwq+xKDStwMuauncSQw9GYdQah1xVDuImXv1Chi/88Dp4CjcLDuy7SJIThwOG/ptymyr8Dsj9d2F1QU="
)


def test_url_signature_matches_the_published_vector():
    assert signature("test", "1410685589", "test") == "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"
    assert signature("789", "456", "123") == "f7c3bc1d808e04732adf679965ccc34ca7ae3441"
    wechatpy_check_signature("test", signature("test", "1410685589", "test"), "1410685589", "test")


def test_official_safe_mode_sample_decrypts_to_the_text_message():
    plain, key_index = MessageCipher(TOKEN, APP_ID, [AES_KEY]).decrypt(
        ENCRYPT, MSG_SIGNATURE, TIMESTAMP, NONCE
    )
    fields = parse_fields(plain.encode("utf-8"))
    assert key_index == 0
    assert fields["Content"] == "abcdteT"
    assert fields["MsgId"] == "6054768590064713728"
    assert fields["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


def test_sample_for_another_app_id_is_refused():
    with pytest.raises(UndecryptableMessage):
        MessageCipher(TOKEN, "wxWRONG", [AES_KEY]).decrypt(ENCRYPT, MSG_SIGNATURE, TIMESTAMP, NONCE)


def test_tampered_ciphertext_fails_the_msg_signature():
    with pytest.raises(SignatureMismatch):
        MessageCipher(TOKEN, APP_ID, [AES_KEY]).decrypt("A" + ENCRYPT[1:], MSG_SIGNATURE, TIMESTAMP, NONCE)


def test_previous_key_still_opens_messages_during_rotation():
    new_key = "Z" * 43
    plain, key_index = MessageCipher(TOKEN, APP_ID, [new_key, AES_KEY]).decrypt(
        ENCRYPT, MSG_SIGNATURE, TIMESTAMP, NONCE
    )
    assert key_index == 1 and "abcdteT" in plain


def test_encrypted_reply_matches_the_deterministic_vector_and_wechatpy_reads_it():
    reply = TextReply(
        content="您好，请问有什么可以帮您？",
        source="gh_10f6c3c3ac5a",
        target="oyORnuP8q7ou2gfYjqLzSIWZf0rs",
        time=1409735670,
    ).render()
    sealed = MessageCipher(TOKEN, APP_ID, [AES_KEY]).encrypt(
        reply, TIMESTAMP, NONCE, random_prefix=b"1234567890123456"
    )
    assert (sealed.encrypt, sealed.msg_signature) == (REPLY_ENCRYPT, REPLY_SIGNATURE)
    envelope = {"Encrypt": sealed.encrypt}
    plain = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
        envelope, sealed.msg_signature, TIMESTAMP, NONCE
    )
    assert parse_message(plain).content == "您好，请问有什么可以帮您？"


def unpad_by_16(data: bytes) -> bytes:
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(data) + unpadder.finalize()


@pytest.mark.parametrize("length", range(1, 201))
def test_every_message_length_round_trips_with_wechatpy(length):
    content = ("查" * length)[: length // 3] + "x" * (
        length - 3 * (length // 3)
    )  # exactly `length` bytes of UTF-8
    xml = f"<xml><Content><![CDATA[{content}]]></Content></xml>"
    ours = MessageCipher(TOKEN, APP_ID, [AES_KEY])
    pushed = WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(xml, NONCE, TIMESTAMP)
    fields = parse_fields(pushed.encode())
    plain, _ = ours.decrypt(fields["Encrypt"], fields["MsgSignature"], TIMESTAMP, NONCE)
    assert parse_fields(plain.encode())["Content"] == content
    sealed = ours.encrypt(xml, TIMESTAMP, NONCE)
    back = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
        {"Encrypt": sealed.encrypt}, sealed.msg_signature, TIMESTAMP, NONCE
    )
    assert back == xml


def test_a_16_byte_unpad_loses_about_half_of_all_lengths():
    """Why we unpad by 32: the 16-byte unpad of public connectors fails on these lengths."""
    key = aes_key(AES_KEY)
    failures = 0
    for length in range(1, 200):
        sealed = base64.b64decode(
            WeChatCrypto(TOKEN, AES_KEY, APP_ID)
            .encrypt_message("x" * length, NONCE, TIMESTAMP)
            .split("<Encrypt><![CDATA[")[1]
            .split("]]>")[0]
        )
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        try:
            unpad_by_16(decryptor.update(sealed) + decryptor.finalize())
        except ValueError:
            failures += 1
    assert 80 <= failures <= 110


def test_cdata_cannot_be_broken_out_of():
    hostile = "价格]]><MsgType>x</MsgType><![CDATA["
    fields = parse_fields(text_reply("oUSER", "gh_x", hostile, now=1).encode())
    assert fields["Content"] == hostile
    assert fields["MsgType"] == "text"
    assert parse_message(text_reply("oUSER", "gh_x", hostile, now=1)).type == "text"
    assert "\x07" not in cdata("响铃\x07")


@pytest.mark.parametrize(
    "body",
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            b"<xml><Content>&b;</Content></xml>"
        ),
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>',
        b"<xml><Content>unclosed</xml>",
        b"",
    ],
    ids=["entity-expansion", "external-entity", "broken", "empty"],
)
def test_hostile_or_broken_xml_is_refused(body):
    with pytest.raises(MalformedXml):
        parse_fields(body)


def test_long_chinese_text_splits_by_bytes_at_sentence_ends():
    sentence = "您的订单已经发货，预计明天送达。"  # 16 characters, 48 bytes
    pieces = split_by_bytes(sentence * 100, 2048)
    assert all(len(p.encode("utf-8")) <= 2048 for p in pieces)
    assert all(p.endswith("。") for p in pieces)
    assert "".join(pieces) == sentence * 100


def test_text_without_any_break_is_cut_between_characters():
    pieces = split_by_bytes("查" * 1000, 2048)  # 3000 bytes, no punctuation
    assert [len(p) for p in pieces] == [682, 318]
