"""One reader per format; ``read_document`` picks the reader by content (magic bytes), not by name."""

from __future__ import annotations

from pathlib import Path

from extractor.document import Document
from extractor.errors import CorruptFile, EmptyDocument, ExtractError, TooLarge, UnsupportedFormat
from extractor.ingest.detect import sniff
from extractor.ingest.markup import as_html, holds_markup
from extractor.ingest.text import decode, read_decoded_text
from extractor.limits import DEFAULT_MAX_BYTES, Limits, check_deadline, paused, remaining  # noqa: F401 - DEFAULT_MAX_BYTES re-exported

SUPPORTED_SUFFIXES = (".txt", ".md", ".text", ".pdf", ".docx", ".doc", ".wps", ".html", ".htm")


def read_document(path: str | Path, limits: Limits | None = None, *, max_bytes: int | None = None) -> Document:
    """Read one file into a Document, within ``limits`` (bytes of the file and of what it unpacks
    to, pages of a PDF); ``max_bytes`` overrides ``limits.max_bytes``."""
    path = Path(path)
    limits = limits or Limits()
    max_bytes = max_bytes or limits.bytes
    size = path.stat().st_size
    if size == 0:
        raise EmptyDocument(f"{path.name}: the file is empty (0 bytes)")
    if size > max_bytes:
        raise TooLarge(f"{path.name}: {size} bytes is over the limit of {max_bytes} bytes (--max-bytes)")
    data = path.read_bytes()
    check_deadline()
    kind = sniff(data, path.suffix.lower())
    if kind == "text":
        text, encoding = decode(data)
        if not holds_markup(text):
            return read_decoded_text(text, encoding, str(path))
        data, kind = as_html(text).encode("utf-8"), "html"  # an article body's HTML, or markdown with HTML tables
    with paused():  # a reader's first import (pymupdf, lxml) is not the file's time
        _import_reader(kind)
    if kind == "image":  # a scanned or photographed page: a one-page-per-frame PDF, read through OCR
        from extractor.ingest.image import image_as_pdf

        data = image_as_pdf(data, path.name, limits.pages)
        kind = "pdf"
    if kind == "pdf":
        from extractor.ingest.pdf import read_pdf

        # Pages without a text layer (a scan, or scanned pages in a digital PDF) go through OCR;
        # pages with one keep the fast path. Without the OCR packages such a PDF raises NeedsOCR.
        try:
            return read_pdf(data, str(path), max_pages=limits.pages, ocr=_ocr_hook())
        except Exception as e:  # mupdf's own errors on a malformed file (a broken page tree, say) are a corrupt PDF
            if isinstance(e, ExtractError) or not type(e).__module__.startswith("pymupdf"):
                raise
            raise CorruptFile(f"{path.name}: not a readable PDF ({type(e).__name__}: {e})") from e
    if kind == "docx":
        from extractor.ingest.docx import read_docx

        return read_docx(data, str(path), max_bytes=max_bytes)
    if kind == "html":
        from extractor.ingest.html import read_html

        return read_html(data, str(path))
    if kind == "doc":
        import os

        from extractor.ingest.office import DEFAULT_TIMEOUT_S, read_doc

        own = float(os.environ.get("OGI_SOFFICE_TIMEOUT", DEFAULT_TIMEOUT_S))
        left = remaining()
        try:  # LibreOffice is killed at the file's deadline, not only at its own time limit
            return read_doc(data, str(path), timeout_s=own if left is None else max(1.0, min(left, own)))
        except CorruptFile:
            check_deadline()  # "did not convert in time" because the file's time was up: a timeout
            raise
    if kind == "corrupt-zip":
        raise CorruptFile(f"{path.name}: looks like a zip/DOCX container but is corrupt or truncated; download it again")
    raise UnsupportedFormat(_UNSUPPORTED.get(kind, f"{path.name}: {kind} files are not supported").format(name=path.name))


def _ocr_hook():
    try:
        from extractor.ingest.ocr import ocr_hook
    except ImportError:  # numpy / OCR packages not installed: read_pdf raises NeedsOCR for a scan
        return None
    return ocr_hook()


def _import_reader(kind: str) -> None:
    if kind in ("pdf", "image"):
        import extractor.ingest.pdf  # noqa: F401
    elif kind in ("docx", "html", "doc"):
        import lxml.etree  # noqa: F401

        import extractor.ingest.docx  # noqa: F401
        import extractor.ingest.html  # noqa: F401


_UNSUPPORTED = {
    "zip": "{name}: a zip archive, not a report; unpack it and extract the files inside",
    "gzip": "{name}: a gzip archive, not a report; unpack it first",
    "binary": "{name}: binary data that is not a known document format",
}
