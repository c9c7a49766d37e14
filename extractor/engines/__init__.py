"""Engines above the validator: the LLM engine and the hybrid default (rules first, LLM where needed)."""
