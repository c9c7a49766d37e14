"""Reaching an OpenAI-compatible endpoint: configuration, structured calls, retries, cache, token accounting."""
