"""The word lists of data/nlu/lexicon.yml fire on what they name, and not inside other words."""

import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from rasa.nlu.utils.pattern_utils import extract_patterns
from rasa.shared.nlu.training_data.loading import load_data

from business.text import normalise

ROOT = Path(__file__).resolve().parents[2]
LEXICON = ROOT / "data" / "nlu" / "lexicon.yml"


@pytest.fixture(scope="module")
def word_lists():
    """The lists as the shipped RegexFeaturizer reads them: Rasa's loader, the config's case setting."""
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    featurizer = next(step for step in pipeline if step["name"] == "RegexFeaturizer")
    flags = 0 if featurizer.get("case_sensitive", True) else re.IGNORECASE
    lists = defaultdict(list)
    for pattern in extract_patterns(load_data(str(LEXICON)), use_lookup_tables=False):
        lists[pattern["name"]].append(re.compile(pattern["pattern"], flags))
    return lists


def fires(word_lists, name: str, text: str) -> bool:
    return any(pattern.search(normalise(text)) for pattern in word_lists[name])


@pytest.mark.parametrize(
    "name, text",
    [
        ("greeting_word", "nihao"),  # pinyin typed without switching the keyboard
        ("greeting_word", "泥嚎呀"),  # homophone typos
        ("greeting_word", "有没有人啊"),
        ("greeting_word", "喂"),
        ("greeting_word", "How are you"),
        ("greeting_word", "中秋节快乐"),  # a festival wish opens a chat
        ("greeting_word", "吃了吗您"),
        ("greeting_word", "小星最近怎么样"),  # asking after the bot opens a chat
        ("greeting_word", "忙不忙呀"),
        ("greeting_word", "在干嘛呢"),
        ("greeting_word", "不好意思打扰一下"),
        ("greeting_word", "what's up"),
        ("greeting_word", "老板好"),  # someone addressed, then 好
        ("greeting_word", "早！"),
        ("greeting_word", "我回来了"),
        ("greeting_word", "客服在不在"),
        ("farewell_word", "早唞"),  # Cantonese good night
        ("farewell_word", "掰"),
        ("farewell_word", "zai jian"),
        ("farewell_word", "在见啦"),
        ("farewell_word", "88888"),
        ("farewell_word", "我先遁了"),
        ("farewell_word", "得闲再倾"),  # Cantonese
        ("farewell_word", "没有其他问题了"),  # the answer to 还有什么可以帮您
        ("farewell_word", "有问题再来找你"),
        ("farewell_word", "有空再聊"),
        ("thanks_word", "thanx"),
        ("thanks_word", "xiexie"),
        ("thanks_word", "三克油"),
        ("thanks_word", "TYSM"),
        ("elsewhere_word", "淘宝买的东西怎么退"),  # another company's service
        ("elsewhere_word", "12306的票能改签吗"),
        ("elsewhere_word", "帮我叫个滴滴"),
        ("elsewhere_word", "book a hotel"),
    ],
)
def test_a_word_list_fires_on_its_words(word_lists, name, text):
    assert fires(word_lists, name, text)


@pytest.mark.parametrize(
    "name, text",
    [
        ("greeting_word", "有没有人工客服"),  # asks for a human
        ("greeting_word", "你号码多少"),
        ("greeting_word", "喂，我的快递到哪了"),  # 喂 alone greets; before a request it is a request
        ("greeting_word", "shipping fee"),
        ("greeting_word", "能帮个忙吗"),  # a favour, not 忙吗
        ("greeting_word", "我现在做什么才能退款"),
        ("greeting_word", "customer support"),  # "sup" inside a word
        ("greeting_word", "早点发货"),  # 早 alone greets
        ("greeting_word", "退回来了吗"),
        ("greeting_word", "我来了解一下运费险"),
        ("greeting_word", "超时没付款的订单还在不在"),  # is the order still there, not 在不在 to the bot
        ("farewell_word", "不再聊这个了，我的退款呢"),
        ("farewell_word", "很高兴再见到你"),  # 再见到 is meeting again
        ("farewell_word", "不要了，帮我把单子撤了"),  # cancels an order
        ("farewell_word", "我现在见不到物流信息"),
        ("farewell_word", "订单XH2611010088"),  # 88 inside an id
        ("farewell_word", "电话13888888888"),
        ("farewell_word", "这件88元包邮吗"),  # a price
        ("farewell_word", "account number"),  # "cu" inside a word
        ("farewell_word", "掰扯一下这个账单"),  # 掰 alone says bye; in a word it does not
        ("farewell_word", "我的bb霜到哪了"),  # BB cream, not bye-bye
        ("thanks_word", "不用麻烦了"),
        ("thanks_word", "太麻烦了"),
        ("elsewhere_word", "订单XH2611012306"),  # 12306 inside an id
        ("elsewhere_word", "退款会退到支付宝吗"),  # our refunds go back to the payment app
        ("elsewhere_word", "可以用花呗付款吗"),
        ("elsewhere_word", "发的是顺丰还是京东"),  # our parcel's courier
    ],
)
def test_a_word_list_stays_quiet_inside_other_words(word_lists, name, text):
    assert not fires(word_lists, name, text)
