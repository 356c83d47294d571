"""The JSON API v1: a FastAPI sub-application mounted at /api/v1, authenticated by tokens."""
