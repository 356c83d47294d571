"""Database models, engine and the migrations runner."""
