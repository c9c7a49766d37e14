"""Engines that turn a Document into a Reading: rules (template reader), llm, hybrid."""
