"""星河 knowledge base: policy and how-to documents plus their Chinese retriever."""

from kb.retrieval import Answer, Document, Hit, KnowledgeBase, default_kb

__all__ = ["Answer", "Document", "Hit", "KnowledgeBase", "default_kb"]
