"""The Telegram side of the SVP assistant: handlers, registration, outbox delivery."""
