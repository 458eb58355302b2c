"""The answering path: lexical + dense retrieval, the calibrated decision, the part that applies,
the evaluation splits and their exact targets."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from kb.answering import Answerer, Calibration, default_answerer
from kb.evaluation import (
    ABSTAIN_TARGET,
    ANSWERED_TARGET,
    CONFIDENT_WRONG_TARGET,
    P95_TARGET_MS,
    Outcome,
    QualityReport,
    at_least,
    at_most,
    below,
    evaluate_quality,
    target_failures,
)
from kb.passages import line_conditions, quantities, select_passage
from kb.questions import HELDOUT_PATH, TUNING_PATH, Question, read_questions
from kb.retrieval import DEFAULT_DIR, KnowledgeBase, default_kb
from tests.near_duplicates import near_duplicates


@pytest.fixture(scope="module")
def answerer() -> Answerer:
    return default_answerer()


# --- the decision ---------------------------------------------------------------------------

# Outside the KB, each close to a document in words or in meaning: the confidence floor
# (answer_floor in kb/calibration.yml) is what keeps them from being answered.
NEAR_MISSES = [
    "我想找工作",
    "几点了",
    "你叫什么名字",
    "今天心情不好",
    "宠物狗能带上飞机吗",
    "你们几点开门营业 门店在哪",
    "帮我写个周报",
]


@pytest.mark.parametrize("question", NEAR_MISSES)
def test_a_near_miss_outside_the_kb_is_not_answered(answerer: Answerer, question: str) -> None:
    decision = answerer.answer(question)
    assert decision.evidence.candidates, "the question must reach some document to test the floor"
    assert decision.outcome == "not_sure", (question, decision.evidence)


def test_the_confidence_floor_is_what_keeps_near_misses_out(answerer: Answerer) -> None:
    """Guard for the test above: with the floor at zero every near miss is answered."""
    unfloored = answerer.with_calibration(answerer.calibration.with_floors(answer_floor=0.0))
    assert all(unfloored.answer(question).outcome == "answered" for question in NEAR_MISSES)


def test_lowering_the_floor_breaks_the_held_out_targets(answerer: Answerer) -> None:
    unfloored = answerer.with_calibration(answerer.calibration.with_floors(answer_floor=0.0))
    failures = target_failures(evaluate_quality(unfloored, read_questions(HELDOUT_PATH)), p95_ms=0.0)
    assert any(f.startswith("confident-wrong") for f in failures)
    assert any(f.startswith("abstains outside the KB") for f in failures)


@pytest.mark.parametrize(
    "question", ["我的快递到哪了", "XH2611010001到哪了", "京东满多少包邮", "12306改签手续费"]
)
def test_own_records_and_other_companies_are_never_answered(answerer: Answerer, question: str) -> None:
    assert answerer.answer(question).outcome == "not_sure"


@pytest.mark.parametrize(
    "question, doc_id",
    [
        ("满多少包邮", "shipping-fee"),
        ("滿多少包郵", "shipping-fee"),
        ("退款多久能到账", "refund-arrival"),
        ("机票改签收多少手续费", "flight-change-fee"),
        ("refund多久到账", "refund-arrival"),
    ],
)
def test_everyday_questions_are_answered_outright(answerer: Answerer, question: str, doc_id: str) -> None:
    decision = answerer.answer(question)
    assert decision.outcome == "answered" and decision.document.id == doc_id, decision.evidence


def test_half_an_emoji_is_read_as_a_space_not_an_error(answerer: Answerer) -> None:
    """A client that cuts a message inside an emoji sends a lone surrogate, which cannot be
    written as UTF-8: the question is encoded as if it were a space there."""
    decision = answerer.answer("退货运费\ud83d谁出")
    assert decision.outcome == "answered" and decision.document.id in {"return-shipping", "quality-return"}
    assert (
        answerer.dense.encode_query("退货运费\ud83d谁出") == answerer.dense.encode_query("退货运费 谁出")
    ).all()


def test_a_very_long_message_is_encoded_only_as_far_as_the_encoder_reads(answerer: Answerer) -> None:
    from kb.dense import MAX_QUERY_CHARS

    seen = []
    encoder = answerer.dense.encoder
    original = encoder.query
    encoder.query = lambda text: seen.append(text) or original(text)
    try:
        decision = answerer.answer("退款多久能到账" + "。" * 10000)
    finally:
        del encoder.query
    assert decision.outcome in {"answered", "clarify", "not_sure"}
    assert [len(text) for text in seen] == [MAX_QUERY_CHARS]


def test_the_lexical_decision_for_the_nlu_is_unchanged_by_the_dense_path(answerer: Answerer) -> None:
    """The featurizer reads KnowledgeBase.answer(): lexical only, the same object as before."""
    lexical = default_kb().answer("满多少包邮")
    assert answerer.kb is default_kb()
    assert (lexical.outcome, lexical.document.id) == ("answered", "shipping-fee")
    assert answerer.answer("满多少包邮").evidence.lexical_outcome == lexical.outcome


def test_cross_validation_counts_each_tuning_question_once_per_shuffle(capsys) -> None:
    """`python -m kb tune --cv`: fitted on the other folds, every tuning question counted once."""
    from kb.calibrate import cross_validate

    by_model = cross_validate(default_kb(), folds=3, repeats=1)
    assert set(by_model) == {"with_examples", "without_examples"}
    for figures in by_model.values():
        assert set(figures) == {
            "answered right",
            "rightly clarified",
            "confident wrong",
            "not sure outside the KB",
        }
        assert 0.8 < figures["answered right"] <= 1 and 0.9 < figures["not sure outside the KB"] <= 1
        assert 0 <= figures["confident wrong"] < 0.05
    assert "3-fold cross-validation on tuning.yml, 1 shuffles, as shipped" in capsys.readouterr().out


def test_calibration_comes_from_the_tuning_split_only() -> None:
    header = (Path(DEFAULT_DIR).parent / "calibration.yml").read_text(encoding="utf-8").splitlines()[0]
    assert "from kb/eval/tuning.yml only" in header
    calibration = Calibration.load()
    assert calibration.with_examples.answer_floor > 0.5 and calibration.without_examples.answer_floor > 0.5


# --- a designer's new document ----------------------------------------------------------------


def test_a_new_document_without_keywords_is_found_for_a_paraphrase(tmp_path: Path) -> None:
    directory = tmp_path / "documents"
    shutil.copytree(DEFAULT_DIR, directory)
    (directory / "pet-travel.md").write_text(
        "---\nid: pet-travel\ntitle: 宠物托运\ncategory: travel\nkeywords: []\n"
        "channels: [web, wechat, phone]\nfacts: []\nshort: 小型猫狗可以随航班托运，需在起飞前48小时预约。\n---\n"
        "小型猫狗可以随航班办理宠物托运，需要在起飞前48小时联系客服预约。\n"
        "托运时请准备宠物检疫证明和航空箱。\n",
        encoding="utf-8",
    )
    answerer = Answerer.load(KnowledgeBase.load(directory))
    ranked = [c.document.id for c in answerer.rank("我家的猫能跟我一起坐飞机吗")]
    assert ranked[0] == "pet-travel"
    # No example question is labelled with it yet: the decision without examples answers it.
    decision = answerer.answer("我家的猫能跟我一起坐飞机吗")
    assert (decision.outcome, decision.document.id) == ("answered", "pet-travel")
    assert not decision.evidence.example_features


# --- the part that applies ----------------------------------------------------------------------


def test_quantities_read_as_customers_write_them() -> None:
    assert quantities("3天后起飞") == [("time", 72.0)]
    assert quantities("两周后的航班") == [("time", 336.0)]
    assert quantities("下单一个小时了") == [("time", 1.0)]
    assert quantities("明天就飞了") == [("time", 24.0)]
    assert quantities("我这单68块") == [("money", 68.0)]
    assert quantities("买了120的东西") == [("money", 120.0)]
    assert quantities("满多少包邮") == []


def test_line_conditions_read_ranges_floors_and_ceilings() -> None:
    (between,) = line_conditions("起飞前7天内至48小时：收取票价的10%。")
    assert (between.low, between.high) == (48.0, 168.0)
    (above,) = line_conditions("起飞前7天以上：免费改签。")
    assert above.low == 168.0
    (under,) = line_conditions("不满99元的订单收取运费8元。")
    assert under.high == 99.0 and under.low < 0
    assert line_conditions("订单实付金额满99元即可包邮。")[0].low == 99.0


@pytest.mark.parametrize(
    "question, doc_id, says, not_says",
    [
        ("还有3天起飞 改签手续费多少", "flight-change-fee", "10%", "20%"),
        ("明天就飞了 退票扣多少", "flight-refund-fee", "40%", "5%"),
        ("我这单68块要运费吗", "shipping-fee", "8元", "15元"),
        ("寄到乌鲁木齐邮费多少", "shipping-fee", "15元", "8元"),
        ("杭州下单几天能到", "delivery-time", "次日", "预售"),
        ("签收10天了还能无理由退吗", "return-no-reason", "7天", "生鲜"),
        ("买了120的东西还收运费吗", "shipping-fee", "满99元", "不满"),
    ],
)
def test_a_condition_gets_the_part_that_applies(question: str, doc_id: str, says: str, not_says: str) -> None:
    kb = default_kb()
    passage = select_passage(kb.get(doc_id), question)
    assert passage is not None and says in passage.text and not_says not in passage.text, passage


@pytest.mark.parametrize(
    "question, doc_id",
    [
        ("机票改签收多少手续费", "flight-change-fee"),
        ("退款一般多久能到账", "refund-arrival"),
        ("会员等级是怎么划分的", "member-levels"),
        ("登录密码忘了怎么办", "reset-password"),
        ("七天无理由退货的话寄回去的运费谁出", "return-shipping"),
    ],
)
def test_without_a_condition_the_whole_document_is_the_answer(question: str, doc_id: str) -> None:
    kb = default_kb()
    assert select_passage(kb.get(doc_id), question) is None


# --- the evaluation: splits and exact targets ----------------------------------------------------


def test_the_splits_are_large_enough_separate_and_a_third_is_held_out() -> None:
    tuning, heldout = read_questions(TUNING_PATH), read_questions(HELDOUT_PATH)
    everything = tuning + heldout
    assert sum(1 for q in everything if q.doc_ids) >= 300
    assert sum(1 for q in everything if not q.doc_ids) >= 60
    assert 3 * len(heldout) >= len(everything)
    # ... with at least a third of the required 300 answerable and 60 uncovered questions.
    assert sum(1 for q in heldout if q.doc_ids) >= 100 and sum(1 for q in heldout if not q.doc_ids) >= 20


def test_no_tuning_question_is_a_near_duplicate_of_another() -> None:
    """Each tuning question is asked without its own example (kb/questions.py); a near-copy of it left
    among the examples would answer it as if it had been seen."""
    texts = [q.text for q in read_questions(TUNING_PATH)]
    assert len(set(texts)) == len(texts)
    pairs = [(a, b) for a, b in near_duplicates(texts, texts) if a != b]
    assert not pairs, f"near-duplicate tuning questions (reword one of each pair): {pairs}"


def test_no_held_out_question_is_a_near_duplicate_of_a_tuning_question() -> None:
    """積分有效期多久 held out beside 积分有效期多久 tuned on measures the tuning, not a new question."""
    tuning, heldout = read_questions(TUNING_PATH), read_questions(HELDOUT_PATH)
    pairs = near_duplicates([q.text for q in heldout], [q.text for q in tuning])
    assert not pairs, f"held-out questions near-duplicating tuning ones (reword the tuning one): {pairs}"


def test_every_labelled_document_exists() -> None:
    kb = default_kb()
    for question in read_questions(TUNING_PATH) + read_questions(HELDOUT_PATH):
        for doc_id in question.doc_ids:
            assert kb.get(doc_id) is not None, question


def test_target_comparisons_are_exact() -> None:
    assert at_most(Fraction(2, 100), CONFIDENT_WRONG_TARGET)  # the limit itself is within "at most"
    assert not at_most(Fraction(201, 10000), CONFIDENT_WRONG_TARGET)  # prints as 0.020, yet over
    assert at_least(Fraction(9, 10), ANSWERED_TARGET) and not at_least(Fraction(8999, 10000), ANSWERED_TARGET)
    assert at_least(Fraction(19, 20), ABSTAIN_TARGET) and not at_least(Fraction(18, 19), ABSTAIN_TARGET)
    assert not below(P95_TARGET_MS, P95_TARGET_MS) and below(P95_TARGET_MS - 0.01, P95_TARGET_MS)


def _report(answered_right: int, wrong: int, answerable: int, abstained: int, outside: int) -> QualityReport:
    outcomes = []
    for number in range(answerable):
        question = Question(f"q{number}", ("right",))
        if number < answered_right:
            outcomes.append(Outcome(question, ["right"], "right", [], "answered"))
        elif number < answered_right + wrong:
            outcomes.append(Outcome(question, ["other"], "other", [], "answered"))
        else:
            outcomes.append(Outcome(question, ["right"], None, [], "not_sure"))
    for number in range(outside):
        question = Question(f"o{number}", ())
        outcomes.append(
            Outcome(question, ["x"], None, [], "not_sure")
            if number < abstained
            else Outcome(question, ["x"], "x", [], "answered")
        )
    return QualityReport(outcomes)


def test_target_failures_use_the_exact_shares() -> None:
    # 90/100 answered right; 1 wrong + 1 answered outside = 2/120 confidently wrong; 19/20 abstain: all met.
    assert target_failures(_report(90, 1, 100, 19, 20), p95_ms=1.0) == []
    # 89/100 answered right: under 0.90.
    assert any(f.startswith("answered outright") for f in target_failures(_report(89, 0, 100, 20, 20), 1.0))
    # 3 answered outside of 20 (each also confidently wrong): abstain 0.85.
    failures = target_failures(_report(90, 0, 100, 17, 20), 1.0)
    assert any(f.startswith("abstains outside the KB") for f in failures)
    # Confidently wrong 3/146 = 0.0205 is over the limit; 2/100 = 0.02 exactly is at it and passes.
    assert any(f.startswith("confident-wrong") for f in target_failures(_report(100, 3, 126, 20, 20), 1.0))
    assert not any(f.startswith("confident-wrong") for f in target_failures(_report(98, 2, 100, 0, 0), 1.0))
    assert any(
        f.startswith("answer p95") for f in target_failures(_report(90, 0, 100, 20, 20), P95_TARGET_MS)
    )


def test_a_clarification_counts_only_for_a_truly_ambiguous_question() -> None:
    clear = Outcome(
        Question("密码忘了", ("reset-password",)), [], None, ["reset-password", "payment-password"], "clarify"
    )
    ambiguous = Outcome(
        Question("密码忘了", ("reset-password", "payment-password"), ambiguous=True),
        [],
        None,
        ["reset-password", "payment-password"],
        "clarify",
    )
    assert QualityReport([clear]).clarified_rightly.count == 0
    assert QualityReport([clear]).clarified_otherwise.count == 1
    assert QualityReport([ambiguous]).clarified_rightly.count == 1
    assert QualityReport([clear, ambiguous]).answered_correctly.count == 0
    both_state_it = Outcome(
        Question("人工客服几点下班", ("service-hours", "contact-human")),
        ["contact-human"],
        "contact-human",
        [],
        "answered",
    )
    assert QualityReport([both_state_it]).answered_correctly.count == 1


def test_the_held_out_split_meets_every_target(answerer: Answerer) -> None:
    """Top-1, answered outright and right, confident-wrong and abstention (latency has its own run:
    `make kb-eval`). Answered right needs the example questions: without them it is 176/197."""
    assert target_failures(evaluate_quality(answerer, read_questions(HELDOUT_PATH)), p95_ms=0.0) == []
