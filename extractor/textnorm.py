"""Normalising printed labels and numbers so they can be compared with the template's."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_LEADING_ORDINAL = re.compile(
    r"^(?:[#>\s]*)(?:第?[一二三四五六七八九十]+[、.．，,]|[(（][一二三四五六七八九十\d]+[)）]|\d+[、.．，,)]|[①-⑳])\s*"
)
NUMBER = re.compile(r"^[-−+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^[-−+]?\d+(?:\.\d+)?$")  # "+3": 本年增/减
# Digits on both sides of a space are two numbers ("1 0 0 0 0": a row of cells on one text line),
# never one: Chinese reports do not group digits with spaces.
_SPLIT_DIGITS = re.compile(r"\d\s+\d")
DASH_CHARS = "—–\\-－―/／~～"  # a regex character-class body: the marks printed for an empty cell
DASH_TEXT = rf"(?:[{DASH_CHARS}]+|无)"
DASH = re.compile(rf"^{DASH_TEXT}$")


# Cell texts repeat endlessly ("0", the same labels in every report), so the pure functions below
# remember short inputs; a long text is never kept alive by the cache.
_SHORT = 256
_cached = lru_cache(maxsize=1 << 15)


def short_cached(fn):
    cached = _cached(fn)

    def wrapper(text: str):
        return cached(text) if len(text) < _SHORT else fn(text)
    wrapper.__doc__, wrapper.__name__, wrapper.__wrapped__ = fn.__doc__, fn.__name__, fn
    return wrapper


@short_cached
def squash(text: str) -> str:
    """NFKC, no whitespace at all (so '政 策' and '政策' compare equal), unified brackets."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(text.split())  # the same whitespace as \s+, four times faster on a huge line
    return text.replace("（", "(").replace("）", ")").replace("“", '"').replace("”", '"')


def strip_ordinal(text: str) -> str:
    prev = None
    while prev != text:
        prev, text = text, _LEADING_ORDINAL.sub("", text, count=1)
    return text


@short_cached
def label_key(text: str) -> str:
    return strip_ordinal(squash(text))


@short_cached
def parse_number(text: str) -> int | float | None:
    """A printed number -> int or float; None when the text is not a plain number."""
    if _SPLIT_DIGITS.search(text):
        return None
    t = squash(text).replace("−", "-")
    if t.endswith(("件", "个", "项", "条")):
        t = t[:-1]
    if not NUMBER.match(t):
        return None
    t = t.replace(",", "")
    if "." in t:
        f = float(t)
        return f
    return int(t)


@short_cached
def is_dash(text: str) -> bool:
    return bool(DASH.match(squash(text)))


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
