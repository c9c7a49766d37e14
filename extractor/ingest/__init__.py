"""One reader per format; ``read_document`` picks the reader by content (magic bytes), not by name."""

from __future__ import annotations

from pathlib import Path

from extractor.document import Document
from extractor.errors import EmptyDocument, TooLarge, UnsupportedFormat
from extractor.ingest.detect import sniff
from extractor.ingest.text import read_text_bytes

DEFAULT_MAX_BYTES = 200 * 1024 * 1024

SUPPORTED_SUFFIXES = (".txt", ".md", ".text", ".pdf", ".docx", ".doc", ".wps", ".html", ".htm")


def read_document(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise EmptyDocument(f"{path.name}: the file is empty (0 bytes)")
    if size > max_bytes:
        raise TooLarge(f"{path.name}: {size} bytes is over the limit of {max_bytes} bytes")
    data = path.read_bytes()
    kind = sniff(data, path.suffix.lower())
    if kind == "text":
        return read_text_bytes(data, str(path))
    if kind == "pdf":
        from extractor.ingest.pdf import read_pdf

        return read_pdf(data, str(path))
    if kind == "docx":
        from extractor.ingest.docx import read_docx

        return read_docx(data, str(path))
    if kind == "html":
        from extractor.ingest.html import read_html

        return read_html(data, str(path))
    if kind == "doc":
        from extractor.ingest.office import read_doc

        return read_doc(data, str(path))
    raise UnsupportedFormat(_UNSUPPORTED.get(kind, f"{path.name}: {kind} files are not supported").format(name=path.name))


_UNSUPPORTED = {
    "zip": "{name}: a zip archive, not a report; unpack it and extract the files inside",
    "gzip": "{name}: a gzip archive, not a report; unpack it first",
    "corrupt-zip": "{name}: looks like a zip/DOCX container but is corrupt or truncated",
    "image": "{name}: an image file; OCR of images is not supported, only of scanned PDFs",
    "binary": "{name}: binary data that is not a known document format",
}
