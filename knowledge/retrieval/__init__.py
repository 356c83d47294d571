"""Retrieval: stored embeddings, search, evaluation."""
