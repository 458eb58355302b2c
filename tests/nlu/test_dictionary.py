"""The jieba dictionary is generated from the lookup tables, the catalogue and the KB."""

from pathlib import Path

from nlu.dictionary import catalogue_words, user_dictionary

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "business" / "store" / "demo_data.yml"


def words(lines):
    return {line.split()[0] for line in lines}


def test_product_names_come_from_the_catalogue():
    assert {"无线蓝牙耳机", "机械键盘", "空气净化器"} <= set(catalogue_words(CATALOGUE))


def test_cities_catalogue_and_kb_terms_are_in_the_dictionary(tmp_path):
    (tmp_path / "fixes.txt").write_text("# fixes\n今天天气 0\n", encoding="utf-8")
    lines = user_dictionary(["上海虹桥", "北京"], tmp_path, ROOT / "kb" / "documents", CATALOGUE)
    assert {"上海虹桥", "北京", "护眼台灯", "改签", "今天天气"} <= words(lines)
    assert "今天天气 0" in lines  # a hand-written fix wins over anything generated
    assert "#" not in words(lines)


def test_phrases_and_non_chinese_words_are_left_to_the_tokenizer(tmp_path):
    lines = user_dictionary(
        ["New York", "重庆江北国际机场航站楼出发层"], tmp_path, ROOT / "kb" / "documents", CATALOGUE
    )
    assert not {"New", "重庆江北国际机场航站楼出发层"} & words(lines)
    assert all(len(word) <= 4 for word in words(lines) - {"上海虹桥"} - set(catalogue_words(CATALOGUE)))


def test_traditional_names_are_stored_simplified(tmp_path):
    assert "广州白云" in words(user_dictionary(["廣州白雲"], tmp_path, ROOT / "kb" / "documents", CATALOGUE))
