"""Knowledge suggestions: for each new customer message, the three knowledge-base documents most
likely to answer it, with the part that applies and the text to put in the reply box. The same
retriever as the bot's answers (words and sentence vectors, synonyms, traditional/simplified
folding); the agent always decides, so there is no confidence floor here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List

from kb.answering import Answerer
from kb.passages import select_passage

TOP = 3


@dataclass(frozen=True)
class Suggestion:
    document_id: str
    title: str
    passage: str  # what answers the message: the lines that apply, or the whole document
    insert: str  # what one click puts in the reply box, to edit before sending

    def as_dict(self) -> Dict[str, Any]:
        return {
            "document_id": self.document_id,
            "title": self.title,
            "passage": self.passage,
            "insert": self.insert,
        }


class KnowledgeSuggestions:
    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer

    def for_message(self, text: str, top: int = TOP) -> List[Suggestion]:
        suggestions = []
        for candidate in self.answerer.rank(text, k=top):
            document = candidate.document
            applies = select_passage(document, text)
            suggestions.append(
                Suggestion(
                    document.id,
                    document.title,
                    applies.text if applies is not None else document.body,
                    applies.text if applies is not None else document.short,
                )
            )
        return suggestions
