"""Choosing an engine for a document: rules, llm, or hybrid (rules first, the LLM only where needed).

Hybrid sends a section to the LLM only when the rules engine could not place its cells (the
section is unread, or carries a READ error). A section the rules read cleanly but that breaks a
sum is a printed error, not a reading error: it stays as printed and flagged, costing nothing.
"""

from __future__ import annotations

from extractor.document import Document
from extractor.engines.llm import LLMReader
from extractor.flags import Flag
from extractor.limits import paused
from extractor.llm.transport import Usage
from extractor.read.base import Reading
from extractor.read.rules import detect_format, read_meta, read_rules
from extractor.sections import TABLE_PARTS, find_sections

ENGINES: tuple[str, ...] = ("rules", "llm", "hybrid")


def sections_needing_llm(reading: Reading) -> list[str]:
    parts = set(reading.unread)
    for f in reading.flags:
        if f.rule == "READ" and f.severity == "error" and f.keys:
            parts.add(f.keys[0].split(".")[0])
    return [p for p in TABLE_PARTS if p in parts]


def read_document_with(engine: str, doc: Document, llm: LLMReader | None) -> tuple[Reading, Usage]:
    usage = Usage()
    if engine == "rules":
        return read_rules(doc), usage
    if engine == "llm":
        fmt = detect_format(doc, find_sections(doc))
        reading = Reading.empty(fmt, meta=read_meta(doc, fmt))
        parts = list(TABLE_PARTS)
    elif engine == "hybrid":
        reading = read_rules(doc)
        parts = sections_needing_llm(reading)
    else:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if not parts:
        return reading, usage
    if llm is None:
        for part in parts:
            reading.flag(Flag(rule="NEEDS_LLM", severity="error", keys=[],
                              message=f"section {part} needs the LLM (the rules engine could not place its cells) "
                                      "but no endpoint is configured (set OPENAI_BASE_URL / OPENAI_API_KEY)"))
        return reading, usage
    with paused():  # waiting on the endpoint is bounded by its own timeouts, retries and token budget
        llm.read_sections(doc, reading, parts, usage)
    return reading, usage
