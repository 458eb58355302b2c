"""Customer text normalisation: what the NLU sees, and that nothing moves."""

import pytest

from business.text import normalise


@pytest.mark.parametrize(
    "written, seen",
    [
        ("訂單ＸＨ2611010001到哪了", "订单XH2611010001到哪了"),
        ("订单xh2611010001到哪了", "订单XH2611010001到哪了"),
        ("mu5101幾點起飛", "MU5101几点起飞"),
        ("预订号k7m2qd", "预订号K7M2QD"),
        ("退款進度？？？", "退款进度?  "),
        ("我要退貨，謝謝～～", "我要退货,谢谢~ "),
        ("👍🏻好的", "好 好的"),  # a thumbs-up says yes; its skin tone is decoration
        ("👌", "好"),
        ("收到😀🙏", "收到 谢"),  # folded hands thank; a smile is decoration
        ("👋🏻👋", "嗨 嗨"),  # a waving hand greets
        ("你好(*^▽^*)", "你好       "),  # kaomoji are decoration too
        ("谢谢^_^", "谢谢   "),
        ("好的:)", "好的  "),
        ("byeeee", "bye   "),  # a drawn-out word keeps one of its letters
        ("hellooo小星", "hello  小星"),
        ("预订号aaa123", "预订号AAA123"),  # an id is not drawn out
        (
            "嗨(｡･ω･｡)",
            "嗨       ",
        ),  # a face in brackets, though its eyes are full stops and its mouth a letter
        ("(・ω・)谢谢", "     谢谢"),
        ("收货人(张三)", "收货人(张三)"),  # brackets around words are not a face
        ("订单(XH2611010001)", "订单(XH2611010001)"),
        ("到哪了?!", "到哪了?!"),  # sentence punctuation is not a kaomoji
        ("改到2026-12-05", "改到2026-12-05"),  # nor is a lone hyphen
        ("check一下 order pls", "check一下 order pls"),  # words without digits keep their case
        ("乾燥的天氣", "干燥的天气"),
        (
            "我的退款\ud83d到哪了",
            "我的退款 到哪了",
        ),  # half an emoji, cut by the client: OpenCC cannot encode it
    ],
)
def test_customer_text_is_simplified_half_width_and_ids_upper_cased(written, seen):
    assert normalise(written) == seen


@pytest.mark.parametrize(
    "text", ["訂單ＸＨ2611010001到哪了😡😡！！", "㈱½ｶ", "🇨🇳👨‍👩‍👧上海", "(╯°□°）╯︵ ┻━┻", "", "   "]
)
def test_every_character_stays_where_it_was(text):
    assert len(normalise(text)) == len(text)


def test_an_id_keeps_its_offsets():
    text = "請幫我查ＸＨ２６１１０１０００１，謝謝🙏"
    start = text.index("Ｘ")
    assert normalise(text)[start : start + 12] == "XH2611010001"
