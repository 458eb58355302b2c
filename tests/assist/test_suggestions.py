"""Knowledge suggestions for messages in the middle of an agent conversation, and their measure."""

from __future__ import annotations

from assist.evaluation import P95_TARGET_MS, TOP3_TARGET, evaluate, load_messages
from assist.suggestions import KnowledgeSuggestions
from kb.answering import default_answerer


def test_three_documents_with_the_part_that_applies_and_a_text_to_insert():
    suggestions = KnowledgeSuggestions(default_answerer()).for_message("东西签收10天了还能无理由退吗")
    assert len(suggestions) == 3
    first = suggestions[0]
    assert first.document_id == "return-no-reason"
    assert "7天" in first.insert and first.insert == first.passage  # only the rule that applies


def test_the_evaluation_set_meets_its_targets():
    """The figure `make assist-eval` prints, held as a test: top-3 and the latency target."""
    result = evaluate(KnowledgeSuggestions(default_answerer()), load_messages())
    assert result.messages >= 200
    assert result.top3 >= TOP3_TARGET, [m[0] for m in result.misses]
    assert result.p95_ms <= P95_TARGET_MS
