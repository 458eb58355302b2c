"""Bot texts for the ear, and ids heard on the phone."""

from connectors.voice_text import keypad_prompt, speakable, written_ids


def test_ids_are_read_character_by_character():
    spoken = speakable("订单 XH2611010001 已发货，运单号 SF1402837465921，航班 MU5101。")
    assert "X H 2 6 1 1 0 1 0 0 0 1" in spoken
    assert "S F 1 4 0 2 8 3 7 4 6 5 9 2 1" in spoken
    assert "M U 5 1 0 1" in spoken


def test_amounts_and_dates_stay_numbers():
    spoken = speakable("退款 1280.50 元将于11月23日到账")
    assert "1280.50" in spoken and "11月23日" in spoken


def test_masked_phone_emoji_and_line_breaks_are_spoken_naturally():
    spoken = speakable("您好 🙂\n收件人 张* 138****8001")
    assert spoken == "您好。收件人 张 尾号 8 0 0 1 的手机。"


def test_keypad_prompt_lists_each_key():
    assert keypad_prompt({"1": "退货政策", "2": "退款时效"}) == "按1，退货政策；按2，退款时效。"


def test_ids_said_aloud_are_written_as_ids():
    assert written_ids("订单号是 X H 二六一一零一零零零一") == "订单号是 XH2611010001"
    assert written_ids("我要退货") == "我要退货"
    assert written_ids("一二三") == "一二三"  # too short to be an id
