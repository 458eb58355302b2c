"""Chinese retrieval over the 星河 knowledge base (no Rasa imports).

Documents and queries go through the same analyzer: normalise (traditional to
simplified, full-width to half-width, lower case, punctuation and emoji out),
segment with a private jieba tokenizer that knows the KB's own terms, map every
synonym to its group's first word, drop stopwords. BM25 (bm25s) ranks the
documents. `answer()` answers only when the best one scores and covers enough of
the question, asks back when the runner-up is close in score and about as much
on topic, and leaves requests about the customer's own records (an order number,
"我的快递到哪了") to the lookups.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

import bm25s
import jieba
import numpy as np
import yaml

from business.text import to_simplified

KB_DIR = Path(__file__).resolve().parent
DEFAULT_DIR = KB_DIR / "documents"
SYNONYMS_PATH = KB_DIR / "synonyms.yml"
STOPWORDS_PATH = KB_DIR / "stopwords.txt"
LOOKUPS_PATH = KB_DIR / "lookups.yml"
LEXICON_PATHS = (SYNONYMS_PATH, STOPWORDS_PATH, LOOKUPS_PATH)

CATEGORIES = ("mall", "wallet", "travel", "service")
CHANNELS = ("web", "wechat", "phone")
REQUIRED_FIELDS = ("id", "title", "category", "keywords", "facts", "short")

# Decision constants, chosen with `python -m kb evaluate --questions kb/eval/tuning.yml`
# and a grid over them (most answered outright while confident-wrong stays well
# under target); questions.yml served only as a final aggregate check, never per
# question:
# - MIN_SCORE: floor on the best BM25 score; one shared everyday word ("收到",
#   "几点", "工作") scores less.
# - MIN_COVERAGE: share of the question's IDF weight the best document contains;
#   off-topic questions that share a word or two with a document stay under it.
# - STRONG_SCORE, STRONG_COVERAGE: a score this high needs several of the KB's own
#   rare words, so the words customers wrap around them ("用了十来天发现…")
#   may leave coverage down to STRONG_COVERAGE.
# - CLOSE_MARGIN: a runner-up within this fraction of the best score is offered
#   as an alternative instead of answering outright ...
# - TOPIC_LEAD: ... unless the best document's title and keywords cover this
#   much more of the question than the runner-up's: the runner-up then merely
#   mentions the subject in passing (会员等级 mentions 运费险). Measured on the
#   titles and keywords because bodies mention neighbouring subjects.
MIN_SCORE = 2.0
MIN_COVERAGE = 0.45
STRONG_SCORE = 4.0
STRONG_COVERAGE = 0.3
CLOSE_MARGIN = 0.3
TOPIC_LEAD = 0.3
MAX_ALTERNATIVES = 2

# Single characters left by segmentation are mostly particles or typos: they
# count less when judging how much of the question a document covers.
SINGLE_CHARACTER_WEIGHT = 0.3

_NON_WORD = re.compile(r"[^\w.%+\-]+")
_HAS_WORD_CHAR = re.compile(r"[^\W_]")
_TITLE_SEPARATORS = re.compile(r"[^\w]+|与|和|及")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.DOTALL)


class DocumentError(ValueError):
    """A KB document that cannot be read or misses required content."""


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    category: str
    keywords: Tuple[str, ...]
    channels: Tuple[str, ...]
    facts: Tuple[str, ...]
    short: str
    body: str


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float


@dataclass(frozen=True)
class Answer:
    query: str
    document: Optional[Document]  # None: not sure, offer a human
    alternatives: Tuple[Document, ...]  # non-empty: ask which one is meant
    confident: bool  # answer `document` outright
    score: float
    coverage: float

    @property
    def outcome(self) -> str:
        """What the assistant does: "answered", "clarify" or "not_sure"."""
        if self.confident:
            return "answered"
        return "clarify" if self.document else "not_sure"


# --- reading documents -------------------------------------------------------------


def split_front_matter(text: str) -> Tuple[dict, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        raise DocumentError("no YAML front matter between --- lines")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        raise DocumentError(f"front matter is not valid YAML: {error}") from None
    if not isinstance(meta, dict):
        raise DocumentError("front matter is not a YAML mapping")
    return meta, match.group(2).strip()


def front_matter_problems(meta: Mapping, body: str) -> List[str]:
    """Everything that keeps a document from being served (empty list: fine)."""
    problems = [f"missing field `{name}`" for name in REQUIRED_FIELDS if name not in meta]
    for name in ("id", "title", "short"):
        if name in meta and not (isinstance(meta[name], str) and meta[name].strip()):
            problems.append(f"`{name}` must be a non-empty string")
    for name in ("keywords", "facts", "channels"):
        if name in meta and not isinstance(meta[name], list):
            problems.append(f"`{name}` must be a list")
    if "category" in meta and meta["category"] not in CATEGORIES:
        problems.append(f"`category` must be one of {', '.join(CATEGORIES)}")
    unknown_channels = set(meta.get("channels") or []) - set(CHANNELS)
    if unknown_channels:
        problems.append(f"unknown channels {sorted(unknown_channels)}")
    if not body:
        problems.append("empty answer body")
    return problems


def parse_document(path: Path) -> Document:
    try:
        meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    except DocumentError as error:
        raise DocumentError(f"{path.name}: {error}") from None
    problems = front_matter_problems(meta, body)
    if problems:
        raise DocumentError(f"{path.name}: {'; '.join(problems)}")
    return Document(
        id=meta["id"].strip(),
        title=meta["title"].strip(),
        category=meta["category"],
        keywords=tuple(str(word) for word in meta["keywords"]),
        channels=tuple(meta.get("channels") or CHANNELS),
        facts=tuple(meta["facts"]),
        short=meta["short"].strip(),
        body=body,
    )


def document_paths(directory: Path) -> List[Path]:
    return sorted(Path(directory).glob("*.md"))


def read_documents(directory: Path = DEFAULT_DIR) -> List[Document]:
    return [parse_document(path) for path in document_paths(directory)]


def read_synonym_groups(path: Path = SYNONYMS_PATH) -> List[List[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [[str(word) for word in group] for group in data.get("groups", [])]


def read_stopwords(path: Path = STOPWORDS_PATH) -> List[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@dataclass(frozen=True)
class Lexicon:
    """The designer-edited language files next to the documents."""

    synonym_groups: Tuple[Tuple[str, ...], ...]
    stopwords: Tuple[str, ...]
    status_phrases: Tuple[str, ...]  # "我的快递到哪了": asks about the customer's own records
    how_to_phrases: Tuple[str, ...]  # "怎么查": asks how to look something up, a KB question

    @classmethod
    def load(
        cls,
        synonyms_path: Path = SYNONYMS_PATH,
        stopwords_path: Path = STOPWORDS_PATH,
        lookups_path: Path = LOOKUPS_PATH,
    ) -> "Lexicon":
        lookups = yaml.safe_load(lookups_path.read_text(encoding="utf-8")) or {}
        return cls(
            tuple(tuple(group) for group in read_synonym_groups(synonyms_path)),
            tuple(read_stopwords(stopwords_path)),
            tuple(str(phrase) for phrase in lookups.get("status_phrases", [])),
            tuple(str(phrase) for phrase in lookups.get("how_to_phrases", [])),
        )


# --- text analysis -----------------------------------------------------------------


def normalize(text: str) -> str:
    """Simplified, half-width, lower-case text with punctuation and emoji as spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text).lower()
    return " ".join(_NON_WORD.sub(" ", text).split())


# Identifiers from the spec's entity formats: an order, flight or ticket number
# (or a booking reference with letters and digits) means "look this one up".
_RECORD_ID = re.compile(
    r"(?<![a-z0-9])(?:xh\d{10}|tk\d{8,}|[a-z]{2}\d{3,4}|(?=[a-z]*\d)(?=\d*[a-z])[a-z0-9]{6})(?![a-z0-9])"
)


class LookupDetector:
    """Recognises requests for one customer's own records, which the KB cannot answer."""

    def __init__(self, lexicon: Lexicon) -> None:
        self._status = tuple(normalize(phrase).replace(" ", "") for phrase in lexicon.status_phrases)
        self._how_to = tuple(normalize(phrase).replace(" ", "") for phrase in lexicon.how_to_phrases)

    def is_lookup(self, query: str) -> bool:
        text = normalize(query)
        if _RECORD_ID.search(text):
            return True
        compact = text.replace(" ", "")
        asks_status = any(phrase in compact for phrase in self._status)
        return asks_status and not any(phrase in compact for phrase in self._how_to)


def title_terms(title: str) -> List[str]:
    return [part for part in _TITLE_SEPARATORS.split(normalize(title)) if 2 <= len(part) <= 8]


class Analyzer:
    """Turns text into index tokens; documents and queries share it."""

    def __init__(self, domain_words: Iterable[str], lexicon: Lexicon) -> None:
        self._canonical: Dict[str, str] = {}
        self._phrases: List[Tuple[re.Pattern, str]] = []
        for group in lexicon.synonym_groups:
            self._add_synonym_group([normalize(word) for word in group])
        self._stopwords: FrozenSet[str] = frozenset(normalize(word) for word in lexicon.stopwords)
        # A private tokenizer: the global jieba (Rasa's JiebaTokenizer) keeps its dictionary.
        self._tokenizer = jieba.Tokenizer()
        for word in {normalize(word) for word in domain_words} | set(self._canonical):
            if word and " " not in word:
                self._tokenizer.add_word(word)

    def _add_synonym_group(self, group: Sequence[str]) -> None:
        canonical = group[0]
        for word in group:
            if " " in word:  # jieba splits on spaces: match such phrases in the text
                pattern = re.compile(rf"(?<![a-z]){re.escape(word)}(?![a-z])")
                self._phrases.append((pattern, canonical))
            else:
                self._canonical[word] = canonical

    def tokens(self, text: str) -> List[str]:
        text = normalize(text)
        for pattern, canonical in self._phrases:
            text = pattern.sub(f" {canonical} ", text)
        tokens = []
        for word in self._tokenizer.cut(text, HMM=False):
            # Stopwords go before the search-mode split: "多长时间" must not leave "时间" behind.
            if word in self._stopwords:
                continue
            # Another way of saying a standard word is just that word: "寄出来" (发货) must
            # not leave "寄出" behind, nor "坏了" count as 质量 + 问题 + 质量问题.
            canonical = self._canonical.get(word, word)
            for piece in self._search_pieces(word) if canonical == word else [canonical]:
                token = self._canonical.get(piece, piece)
                if token not in self._stopwords and _HAS_WORD_CHAR.search(token):
                    tokens.append(token)
        return tokens

    def _search_pieces(self, word: str) -> List[str]:
        """jieba's search mode for one word: the dictionary words inside it, then the word."""
        grams = [word[i : i + n] for n in (2, 3) if len(word) > n for i in range(len(word) - n + 1)]
        return [gram for gram in grams if self._tokenizer.FREQ.get(gram)] + [word]

    def query_tokens(self, text: str) -> List[str]:
        return list(dict.fromkeys(self.tokens(text)))


def domain_words(documents: Iterable[Document]) -> List[str]:
    words: List[str] = []
    for document in documents:
        words.extend(document.keywords)
        words.extend(title_terms(document.title))
    return words


def document_tokens(analyzer: Analyzer, document: Document) -> List[str]:
    fields = (document.title, " ".join(document.keywords), document.short, document.body)
    return analyzer.tokens(" ".join(fields))


def topic_tokens(analyzer: Analyzer, document: Document) -> List[str]:
    """What the document is declared to be about: its title and keywords."""
    return analyzer.tokens(" ".join((document.title, *document.keywords)))


def inverse_document_frequency(document_count: int, containing: int) -> float:
    return math.log(1 + (document_count - containing + 0.5) / (containing + 0.5))


def share_found(weights: Sequence[Tuple[str, float]], present: FrozenSet[str]) -> float:
    """Share of the query's weight whose tokens are in `present`."""
    total = sum(weight for _, weight in weights)
    return sum(weight for token, weight in weights if token in present) / total if total else 0.0


def required_coverage(score: float) -> float:
    return STRONG_COVERAGE if score >= STRONG_SCORE else MIN_COVERAGE


# --- the knowledge base ------------------------------------------------------------


class KnowledgeBase:
    """The documents plus a BM25 index over them, built once in the constructor."""

    def __init__(self, documents: Sequence[Document], lexicon: Lexicon) -> None:
        if not documents:
            raise DocumentError("the knowledge base has no documents")
        self.documents: Tuple[Document, ...] = tuple(documents)
        self._by_id = {document.id: document for document in self.documents}
        if len(self._by_id) != len(self.documents):
            raise DocumentError("duplicate document ids: run `python -m kb check`")
        self._position = {document.id: i for i, document in enumerate(self.documents)}
        self.lexicon = lexicon
        self.analyzer = Analyzer(domain_words(self.documents), lexicon)
        self._lookups = LookupDetector(lexicon)
        corpus = [document_tokens(self.analyzer, document) for document in self.documents]
        self._token_sets = [frozenset(tokens) for tokens in corpus]
        self._topics = {d.id: frozenset(topic_tokens(self.analyzer, d)) for d in self.documents}
        self._document_frequency = self._count_document_frequency()
        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus, show_progress=False)
        self._channel_masks = {
            channel: np.array([channel in d.channels for d in self.documents], dtype=np.float32)
            for channel in CHANNELS
        }

    @classmethod
    def load(cls, directory: Path = DEFAULT_DIR, lexicon: Optional[Lexicon] = None) -> "KnowledgeBase":
        return cls(read_documents(directory), lexicon or Lexicon.load())

    @property
    def vocabulary_size(self) -> int:
        return len(self._document_frequency)

    def get(self, doc_id: str) -> Optional[Document]:
        return self._by_id.get(doc_id)

    def search(self, query: str, k: int = 3, channel: Optional[str] = None) -> List[Hit]:
        """The k best documents with a positive score, best first."""
        return self._rank(self.analyzer.query_tokens(query), k, channel)

    def answer(self, query: str, channel: Optional[str] = None) -> Answer:
        """Decides between answering, asking which document is meant, and not being sure."""
        tokens = self.analyzer.query_tokens(query)
        hits = self._rank(tokens, 1 + MAX_ALTERNATIVES, channel)
        if not hits:
            return Answer(query, None, (), False, 0.0, 0.0)
        best = hits[0]
        weights = self._weights(tokens)
        coverage = share_found(weights, self._token_sets[self._position[best.document.id]])
        too_weak = best.score < MIN_SCORE or coverage < required_coverage(best.score)
        if too_weak or self._lookups.is_lookup(query):
            return Answer(query, None, (), False, best.score, coverage)
        topic = share_found(weights, self._topics[best.document.id])
        close = tuple(
            hit.document
            for hit in hits[1:]
            if hit.score >= best.score * (1 - CLOSE_MARGIN)
            and share_found(weights, self._topics[hit.document.id]) > topic - TOPIC_LEAD
        )
        return Answer(query, best.document, close, not close, best.score, coverage)

    def lexical_scores(self, tokens: Sequence[str], channel: Optional[str] = None) -> np.ndarray:
        """The BM25 score of every document for these query tokens (zeros when none is known)."""
        token_ids = self._bm25.get_tokens_ids(list(tokens))
        if not token_ids:
            return np.zeros(len(self.documents), dtype=np.float32)
        mask = self._channel_masks[channel] if channel else None
        return self._bm25.get_scores_from_ids(token_ids, weight_mask=mask)

    def coverage(self, tokens: Sequence[str], doc_id: str) -> float:
        """Share of the query's IDF weight that the document contains."""
        return share_found(self._weights(tokens), self._token_sets[self._position[doc_id]])

    def is_lookup(self, query: str) -> bool:
        """A request about the customer's own records (an order number, 我的快递到哪了)."""
        return self._lookups.is_lookup(query)

    def channel_mask(self, channel: Optional[str]) -> Optional[np.ndarray]:
        return self._channel_masks[channel] if channel else None

    def _rank(self, tokens: List[str], k: int, channel: Optional[str]) -> List[Hit]:
        token_ids = self._bm25.get_tokens_ids(tokens)
        if not token_ids:
            return []
        mask = self._channel_masks[channel] if channel else None
        scores = self._bm25.get_scores_from_ids(token_ids, weight_mask=mask)
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [Hit(self.documents[i], float(scores[i])) for i in best if scores[i] > 0]

    def _count_document_frequency(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for tokens in self._token_sets:
            for token in tokens:
                counts[token] = counts.get(token, 0) + 1
        return counts

    def _weights(self, tokens: Sequence[str]) -> List[Tuple[str, float]]:
        """Each query token with its IDF weight; unknown words weigh most."""
        return [
            (
                token,
                inverse_document_frequency(len(self.documents), self._document_frequency.get(token, 0))
                * (SINGLE_CHARACTER_WEIGHT if len(token) == 1 else 1.0),
            )
            for token in tokens
        ]


@functools.lru_cache(maxsize=1)
def default_kb() -> KnowledgeBase:
    """The shipped KB, indexed once per process (the action server calls this)."""
    return KnowledgeBase.load()
