"""Embedders (text to unit vectors) and the FAISS vector store; nothing of ours is imported here."""
