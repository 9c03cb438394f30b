"""Similarity search: the in-memory index, its store on disk, faiss engines and the
distributed index build."""
