"""Text that is really HTML markup: an article body saved without its page (a fragment starting
at "<p>" or "<table>"), or markdown from a PDF converter that writes tables as HTML (MinerU and
others). Read as the HTML it holds, so tables keep their cells; lines outside the tables of a
markdown file become paragraphs, so headings stay rows of their own.
"""

from __future__ import annotations

import html
import re

_BLOCK_TAG = re.compile(r"<(?:p|div|table|tr|td|th|br|h[1-6]|li|section|article)\b", re.I)
_TABLE_OPEN = re.compile(r"<table\b", re.I)
_TABLE_TAG = re.compile(r"<(/?)table\b[^>]*>", re.I)
_OUTSIDE_BLOCKS = re.compile(r"<(?:p|div|br|h[1-6]|li|section|article)\b", re.I)


def holds_markup(text: str) -> bool:
    """Does text read as a text file carry HTML structure (a table with cells, or block tags)?"""
    head = text[:200_000]
    return len(_BLOCK_TAG.findall(head)) >= 5 and bool(re.search(r"<t[dh]\b|<p\b|<div\b", head, re.I))


def as_html(text: str) -> str:
    """One HTML page holding ``text``: a fragment as it is; markdown (no block tags outside its
    tables) with each line outside a table as a paragraph of its own."""
    outside, tables = _split_tables(text)
    if any(_OUTSIDE_BLOCKS.search(part) for part in outside):
        body = text  # an HTML fragment: lxml places its text and tags as a browser would
    else:
        body = "".join(_paragraphs(part) + table for part, table in zip(outside, tables + [""]))
    return f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{body}</body></html>'


def _split_tables(text: str) -> tuple[list[str], list[str]]:
    """The text between top-level <table>…</table> blocks, and the blocks (nested tables stay inside)."""
    outside, tables = [], []
    pos = depth = 0
    start = 0
    for m in _TABLE_TAG.finditer(text):
        if m.group(1) == "":
            if depth == 0:
                outside.append(text[pos:m.start()])
                start = m.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                tables.append(text[start:m.end()])
                pos = m.end()
    if depth:  # a table never closed: it runs to the end
        tables.append(text[start:])
        pos = len(text)
    outside.append(text[pos:])
    return outside, tables


def _paragraphs(part: str) -> str:
    return "".join(f"<p>{html.escape(line.strip())}</p>" for line in part.splitlines() if line.strip())
