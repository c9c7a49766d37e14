"""Format detection by content: magic bytes first, the file name only as a tie-breaker."""

from __future__ import annotations

import zipfile
import io

_TEXT_CONTROL = set(range(0, 32)) - {9, 10, 12, 13, 27}


def sniff(data: bytes, suffix: str = "") -> str:
    head = data[:2048]
    if head.startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError):
            return "corrupt-zip"  # NotImplementedError: "zip file version 6.4" from a damaged header
        if "word/document.xml" in names:
            return "docx"
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "doc"  # OLE2: .doc / .wps
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"GIF87a", b"GIF89a")):
        return "image"  # PNG, JPEG, TIFF, GIF
    if _looks_like_html(head):
        return "html"
    if _looks_like_text(head):
        return "text"
    return "binary"


def _looks_like_html(head: bytes) -> bool:
    low = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return low.startswith((b"<!doctype html", b"<html", b"<head", b"<meta")) or b"<html" in low[:512]


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return True
    if utf16_without_bom(head):
        return True
    bad = sum(1 for b in head if b in _TEXT_CONTROL)
    return bad <= max(2, len(head) // 200)


def utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when the bytes read as clean UTF-16 text (zero bytes betray it)."""
    if b"\x00" not in head:
        return None
    head = head[: len(head) // 2 * 2]
    for enc in ("utf-16-le", "utf-16-be"):
        try:
            text = head.decode(enc)
        except UnicodeDecodeError:
            continue
        good = sum(_plausible(ch) for ch in text)
        if text and good / len(text) > 0.97:
            return enc
    return None


def _plausible(ch: str) -> bool:
    """ASCII text, CJK ideographs and punctuation, full-width forms: what a Chinese report is made of."""
    o = ord(ch)
    return (32 <= o < 127 or ch in "\t\r\n" or 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x303F
            or 0xFF00 <= o <= 0xFFEF or 0x2000 <= o <= 0x206F)
