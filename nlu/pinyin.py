"""How a message sounds: toneless pinyin syllables and their n-grams.

Most Chinese is typed with a pinyin keyboard, and its typos are homophones, not misspellings:
物留 for 物流, 定单 for 订单, 该签 for 改签, 退漂 for 退票.  Written, the typo shares no
character n-gram with the word meant; spoken, it is the same word.  Many keyboards also offer
"fuzzy pinyin" (模糊音) for speakers of southern Chinese, who do not distinguish zh/z, ch/c,
sh/s or the -ng/-n finals, so 投术 (tóu shù) for 投诉 (tóu sù) is as common: folding those
pairs makes it the same syllable too.
"""

from __future__ import annotations

import re
from typing import List

from pypinyin import Style, lazy_pinyin

_RETROFLEX_INITIAL = re.compile(r"^([zcs])h")
# ang/eng/ing fold to an/en/in; ong has no -n partner and stays.
_VELAR_FINAL = re.compile(r"(?<=[aei])ng$")


def fold_fuzzy(syllable: str) -> str:
    """The syllable as fuzzy pinyin hears it: zhi -> zi, shang -> san, qing -> qin."""
    return _VELAR_FINAL.sub("n", _RETROFLEX_INITIAL.sub(r"\1", syllable))


def syllables(text: str, fuzzy: bool = True) -> List[str]:
    """The toneless syllables of the Chinese characters in `text`; anything else is skipped
    (letters, digits and punctuation are read by the other featurizers)."""
    spoken = lazy_pinyin(text, style=Style.NORMAL, errors="ignore", v_to_u=False)
    return [fold_fuzzy(s) for s in spoken] if fuzzy else spoken


def ngrams(units: List[str], min_n: int, max_n: int) -> List[str]:
    """Every run of `min_n` to `max_n` consecutive units, space-joined: ["wu liu", ...]."""
    return [" ".join(units[i : i + n]) for n in range(min_n, max_n + 1) for i in range(len(units) - n + 1)]
