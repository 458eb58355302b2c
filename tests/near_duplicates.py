"""Whether two customer sentences are near-duplicates: the rule that keeps evaluation sets independent
of what was trained or tuned on (tests/nlu/test_data_separation.py, tests/kb/test_answering.py).

Both sides are compared as the
pipeline sees them (`business.text.normalise`: simplified, half-width, 👍 as 好, 🙏 as 谢, 👋 as 嗨,
other emoji blanked) with punctuation, spaces and case dropped, and once more with every emoji
dropped: 拜拜👋 reads as 拜拜嗨, yet it is the sentence 拜拜.  Two sentences are near-duplicates
when, in either form,
  - their difflib similarity ratio (2 × matching characters / total length) is at least 0.92:
    one character in 12 differs, e.g. 退票要扣多少钱 / 退票扣多少钱 (0.923); or
  - one turns into the other by a single character inserted, deleted or replaced and the shorter
    has at least 5 characters.  The ratio misses these edits in short sentences (我要取消定单 /
    我要取消订单 is 0.833), yet they keep the sentence as it was trained on.  Below 5 characters
    the edit is the whole sentence (好的 / 好的呢, 谢谢 / 谢谢啊): the few ways to say it are
    shared by any two sets of customer messages, and the holdout keeps them.
Fixed-format ids are variables, not words: 取消XH2611070006 and 取消XH2611150021 are one sentence.
So both forms are compared twice more, with every id as the regexes of data/nlu/entities.yml find it
(order id, ticket id, booking ref, flight number, phone number) replaced by one placeholder of its
kind, and with every id dropped: the latter when the ids of one side are among those of the other,
so that an id added or removed (K7M2QD退票 / 退票) is caught but 查一下XH2611070006 / 查一下MU5101,
two kinds of id, are not.
"""

import difflib
import functools
import re
import unicodedata
from pathlib import Path
from typing import Dict, FrozenSet, List, NamedTuple, Pattern, Tuple

from rasa.shared.nlu.training_data.loading import load_data

from business.text import normalise

ROOT = Path(__file__).resolve().parents[1]
ENTITY_REGEXES = ROOT / "data" / "nlu" / "entities.yml"
NEAR_RATIO = 0.92
ONE_EDIT_MIN_LENGTH = 5
# The id kinds of entities.yml and the placeholder each becomes: one letter no sentence holds
# (Greek), so an id counts as one character and two ids of a kind are the same character.
ID_PLACEHOLDERS = {
    "order_id": "α",
    "ticket_id": "τ",
    "booking_ref": "β",
    "flight_no": "φ",
    "phone_number": "π",
}


@functools.lru_cache(maxsize=1)
def id_patterns() -> Tuple[Tuple[str, Pattern[str]], ...]:
    """(kind, regex) of every id kind, as the pipeline's RegexEntityExtractor reads entities.yml."""
    found = {
        r["name"]: re.compile(r["pattern"])
        for r in load_data(str(ENTITY_REGEXES)).regex_features
        if r["name"] in ID_PLACEHOLDERS
    }
    missing = set(ID_PLACEHOLDERS) - set(found)
    assert not missing, f"no regex for {sorted(missing)} in {ENTITY_REGEXES}"
    return tuple(found.items())


def with_placeholders(normalised: str) -> Tuple[str, FrozenSet[Tuple[str, int]]]:
    """`normalised` with every id replaced by its kind's placeholder, and the ids found as
    (kind, how many) pairs: {(order_id, 1), (order_id, 2)} for two order ids."""
    counts: Dict[str, int] = {}
    for kind, pattern in id_patterns():
        normalised, n = pattern.subn(ID_PLACEHOLDERS[kind], normalised)
        if n:
            counts[kind] = n
    return normalised, frozenset((kind, i) for kind, n in counts.items() for i in range(1, n + 1))


def stripped(normalised: str) -> str:
    """Without punctuation, spaces or case."""
    return re.sub(r"[\W_]+", "", normalised).lower()


def comparable(text: str) -> str:
    """Text as a duplicate check sees it: normalised, without punctuation, spaces or case."""
    return stripped(normalise(text))


class Form(NamedTuple):
    """One way of comparing a text: `how` it was read (only forms read the same way are compared),
    the text so read and the ids it had (used by the form without ids)."""

    how: str
    text: str
    ids: FrozenSet[Tuple[str, int]] = frozenset()


def forms(text: str) -> List[Form]:
    """`comparable` as the pipeline reads the text (👍 as 好 …) and with every emoji dropped; each
    of them with every id as its kind's placeholder, and with every id dropped."""
    no_emoji = "".join(" " if unicodedata.category(char) == "So" else char for char in text)
    found = []
    for variant in (text, no_emoji):
        normalised = normalise(variant)
        templated, ids = with_placeholders(normalised)
        found += [
            Form("text", stripped(normalised)),
            Form("ids as placeholders", stripped(templated)),
            Form("ids dropped", stripped(templated).translate(_DROP_PLACEHOLDERS), ids),
        ]
    return found


_DROP_PLACEHOLDERS = str.maketrans("", "", "".join(ID_PLACEHOLDERS.values()))


def comparable_forms(a: Form, b: Form) -> bool:
    """Whether `near_duplicate` applies to `a` and `b`: forms read the same way, and without ids only
    when one side's ids are among the other's (an id added or removed, not one kind for another)."""
    if a.how != b.how:
        return False
    if a.how != "ids dropped":
        return True
    return bool(a.ids or b.ids) and bool(a.text and b.text) and (a.ids <= b.ids or b.ids <= a.ids)


def one_edit_apart(a: str, b: str) -> bool:
    """Whether one character inserted, deleted or replaced turns `a` into `b` (a != b)."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    return any(b[:i] + b[i + 1 :] == a for i in range(len(b)))


def near_duplicate(a: str, b: str) -> bool:
    """The rule of the module docstring, on two `comparable` texts."""
    if a == b:
        return True
    if min(len(a), len(b)) >= ONE_EDIT_MIN_LENGTH and one_edit_apart(a, b):
        return True
    total = len(a) + len(b)
    if not total or 2 * min(len(a), len(b)) < NEAR_RATIO * total:  # the ratio cannot reach the bar
        return False
    matcher = difflib.SequenceMatcher(None, b, a, autojunk=False)
    return matcher.quick_ratio() >= NEAR_RATIO and matcher.ratio() >= NEAR_RATIO


def near_duplicates(texts: List[str], references: List[str]) -> List[Tuple[str, str]]:
    """(text, reference) for every text that near-duplicates one of `references`, in any form."""
    keyed: Dict[Form, List[str]] = {}
    for reference in references:
        for form in forms(reference):
            keyed.setdefault(form, []).append(reference)
    pairs = []
    for text in texts:
        mine = set(forms(text))
        near = {
            written
            for theirs, references in keyed.items()
            if any(comparable_forms(m, theirs) and near_duplicate(m.text, theirs.text) for m in mine)
            for written in references
        }
        pairs += [(text, written) for written in sorted(near)]
    return pairs
