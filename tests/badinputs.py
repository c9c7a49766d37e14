"""A corpus of bad inputs, generated: what scrapers deliver instead of a report.

``build(dest)`` writes every case into ``dest`` and returns the cases, each with the outcome it
must end in (status, and the error codes accepted). Cases that depend on the PDF reader accept
the codes it documents (EncryptedFile, CorruptFile, TooLarge, NeedsOCR).

Everything is made here from a few lines of text, the seeds (``../shared/seeds``, used for the
wrong-encoding cases when present) and pymupdf: nothing is downloaded.
"""

from __future__ import annotations

import gzip
import io
import random
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HUGE_LINE_BYTES = 50_000_000
BIG_PDF_PAGES = 1000
NESTING = 50_000
FONT = "china-s"  # a CJK font built into pymupdf

NOTICE = ["关于做好2024年春节期间安全生产工作的通知", "各乡镇人民政府、街道办事处，区政府各部门：",
          "为切实做好春节期间安全生产工作，现将有关事项通知如下。", "一、提高思想认识", "二、强化隐患排查",
          "三、严格值班值守", "特此通知。", "某某区人民政府办公室", "2024年1月20日"]
ERROR_PAGE = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>404 Not Found</title></head>"
              "<body><h1>404 Not Found</h1><p>您访问的页面不存在或已被删除。</p><hr><center>nginx</center></body></html>")


@dataclass
class Case:
    name: str  # file name in the corpus
    what: str  # the bad input, in words
    make: Callable[[], bytes]
    status: str = "failed"
    codes: tuple[str, ...] = ()  # accepted error codes (empty for status ok/flagged)
    needs: str = ""  # "seeds" / "pymupdf": skipped when missing
    note: str = field(default="")


# ---------------------------------------------------------------- PDFs


def _pymupdf():
    import pymupdf

    return pymupdf


def pdf(pages: list[list[str] | None], **save) -> bytes:
    """A PDF with one page per item: lines of text, or None for a page with only a drawn rectangle."""
    pymupdf = _pymupdf()
    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page(width=595, height=842)
        if lines is None:
            page.draw_rect(pymupdf.Rect(72, 72, 500, 700), color=(0, 0, 0), fill=(0.6, 0.6, 0.6))
            continue
        for i, line in enumerate(lines):
            page.insert_text((72, 90 + 22 * i), line, fontname=FONT, fontsize=12)
    data = doc.tobytes(garbage=3, deflate=True, **save)
    doc.close()
    return data


def truncated_pdf() -> bytes:
    data = pdf([NOTICE] * 3)
    return data[: len(data) // 2]


def password_pdf() -> bytes:
    return pdf([NOTICE], encryption=_pymupdf().PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")


def owner_locked_pdf() -> bytes:
    """Encrypted with an owner password only (printing/copying 'forbidden'): readable without a password."""
    return pdf([NOTICE], encryption=_pymupdf().PDF_ENCRYPT_AES_128, owner_pw="owner", permissions=0)


def big_pdf() -> bytes:
    """BIG_PDF_PAGES pages of a gazette (ten drawn pages, copied)."""
    pymupdf = _pymupdf()
    ten = pymupdf.open(stream=pdf([[f"第{i + 1}页 政府公报"] for i in range(10)]), filetype="pdf")
    doc = pymupdf.open()
    for _ in range(BIG_PDF_PAGES // 10):
        doc.insert_pdf(ten)
    return doc.tobytes()


def scanned_pdf() -> bytes:
    return pdf([None, None])


def png_named_pdf() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(random.Random(3).randbytes(2000))


# ---------------------------------------------------------------- archives and containers


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def zip_of_reports() -> bytes:
    return _zip({"报告/2023年报.txt": "政府信息公开工作年度报告".encode(), "报告/附件.pdf": b"%PDF-1.7 stub"})


def gzip_html() -> bytes:
    """A page saved with its Content-Encoding: gzip still on."""
    return gzip.compress(("<html><body><h1>政府信息公开工作年度报告</h1>" + "<p>正文</p>" * 200 + "</body></html>").encode())


_CONTENT_TYPES = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                  b'<Default Extension="xml" ContentType="application/xml"/></Types>')


def docx_bomb() -> bytes:
    """A DOCX whose document.xml unpacks to 60 MB (honest sizes in the zip): refused before unpacking."""
    return _zip({"[Content_Types].xml": _CONTENT_TYPES, "word/document.xml": b"<" + b" " * (60 * 1024 * 1024)})


def _docx_parts(lines: list[str]) -> dict[str, bytes]:
    import docx

    d = docx.Document()
    for line in lines:
        d.add_paragraph(line)
    buf = io.BytesIO()
    d.save(buf)
    with zipfile.ZipFile(buf) as z:
        return {n: z.read(n) for n in z.namelist()}


def docx_lying_bomb() -> bytes:
    """A real DOCX whose document.xml claims 1 KB but inflates to 30 MB: the zip headers lie."""
    parts = _docx_parts(NOTICE)
    parts["word/document.xml"] = parts["word/document.xml"] + b" " * (30 * 1024 * 1024)
    data = bytearray(_zip(parts))
    name = b"word/document.xml"
    claimed = struct.pack("<I", 1024)
    at = data.find(b"PK\x03\x04" + b"\x14\x00")
    while at >= 0:  # local file headers: uncompressed size at +22, name at +30
        n = struct.unpack_from("<H", data, at + 26)[0]
        if data[at + 30 : at + 30 + n] == name:
            data[at + 22 : at + 26] = claimed
        at = data.find(b"PK\x03\x04", at + 4)
    at = data.find(b"PK\x01\x02")
    while at >= 0:  # central directory: uncompressed size at +24, name at +46
        n = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + n] == name:
            data[at + 24 : at + 28] = claimed
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def truncated_docx() -> bytes:
    data = _zip(_docx_parts(NOTICE))
    return data[: len(data) // 2]


def encrypted_docx() -> bytes:
    """A password-protected Word 2007+ file: an OLE2 container holding EncryptionInfo + EncryptedPackage."""
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    names = "".join(n.ljust(32, "\x00") for n in ("Root Entry", "EncryptionInfo", "EncryptedPackage")).encode("utf-16-le")
    return head + names + random.Random(5).randbytes(4096)


# ---------------------------------------------------------------- text and HTML


def junk() -> bytes:
    return random.Random(1).randbytes(64 * 1024)


def huge_line(size: int = HUGE_LINE_BYTES) -> Callable[[], bytes]:
    """A report whose line breaks were lost: ``size`` bytes on one line."""

    def make() -> bytes:
        unit = "二、主动公开政府信息情况 规章 0 0 0 行政规范性文件 5 0 48 三、收到和处理政府信息公开申请情况 本年新收 12 3 0 0 0 0 15 "
        raw = (unit * (size // len(unit.encode()) + 1)).encode()[:size]
        return raw.decode("utf-8", "ignore").encode()

    return make


def deep_html(depth: int = NESTING) -> bytes:
    return ("<html><body>" + "<div>" * depth + "政府信息公开" + "</div>" * depth + "</body></html>").encode()


def deep_table_html(depth: int = 3000) -> bytes:
    return ("<html><body>" + "<table><tr><td>" * depth + "层" + "</td></tr></table>" * depth + "</body></html>").encode()


def seed_text(name: str) -> str:
    from conftest import SEEDS

    return (SEEDS / name).read_text(encoding="utf-8")


def seed_html_wrong_meta() -> bytes:
    """A seed as an HTML page whose <meta> says utf-8 over GB18030 bytes (a re-encoded page)."""
    body = seed_text(GOOD_SEEDS[0]).replace("&", "&amp;").replace("<", "&lt;")
    page = f'<html><head><meta charset="utf-8"><title>年报</title></head><body><pre>{body}</pre></body></html>'
    return page.encode("gb18030")


def seed_html_latin1_meta() -> bytes:
    """A seed as an HTML page declared iso-8859-1 (a misconfigured server) over GB18030 bytes."""
    return seed_html_wrong_meta().replace(b'charset="utf-8"', b'charset="iso-8859-1"')


def seed_gb18030_txt() -> bytes:
    return seed_text(GOOD_SEEDS[1]).encode("gb18030")


GOOD_SEEDS = ("zibo_yiyuan_2023.txt", "zibo_zhangdian_govoffice_2023.txt")


CASES: list[Case] = [
    Case("empty.txt", "empty file (0 bytes)", lambda: b"", codes=("empty_document",)),
    Case("blank.txt", "only whitespace", lambda: b" \r\n\t\n\xe3\x80\x80\n", codes=("empty_document",)),
    Case("truncated.pdf", "truncated PDF (download cut in half)", truncated_pdf, codes=("corrupt_file",), needs="pymupdf"),
    Case("broken_page_tree.pdf", "PDF whose page tree is malformed (found by fuzzing)",
         lambda: b"%PDF-\x00\x00\x001\x000\x00obj<</Type/Catalog/Pages\x002\x000\x00R/\x00\x01>>2\x000\x00obj<</\x00\x01/Count\x001/]>>%%EOF",
         codes=("corrupt_file",)),
    Case("password.pdf", "password PDF (user password, AES-256)", password_pdf, codes=("encrypted_file",), needs="pymupdf"),
    Case("encrypted_owner.pdf", "encrypted PDF, owner password only (opens without one): a notice, not a report",
         owner_locked_pdf, codes=("not_a_report",), needs="pymupdf"),
    Case("error_page.pdf", "HTML error page (404) saved as .pdf", lambda: ERROR_PAGE.encode(), codes=("not_a_report",)),
    Case("notice.pdf", "a PDF that is not a report (a notice)", lambda: pdf([NOTICE]), codes=("not_a_report",),
         needs="pymupdf"),
    Case("gazette_1000_pages.pdf", f"a {BIG_PDF_PAGES}-page PDF", big_pdf, codes=("too_large",), needs="pymupdf"),
    Case("scanned.pdf", "a scan: pages of images, no text layer (nothing OCR can read)", scanned_pdf,
         codes=("needs_ocr", "not_a_report", "empty_document"), needs="pymupdf"),
    Case("image.pdf", "a broken PNG image (a header, then noise) named .pdf", png_named_pdf, codes=("corrupt_file",)),
    Case("huge_line.txt", f"huge single line ({HUGE_LINE_BYTES // 1_000_000} MB, no newline)", huge_line(),
         codes=("not_a_report",)),
    Case("junk.pdf", "binary junk named .pdf", junk, codes=("unsupported_format",)),
    Case("junk.txt", "binary junk named .txt", junk, codes=("unsupported_format",)),
    Case("archive.pdf", "a zip archive named .pdf", zip_of_reports, codes=("unsupported_format",)),
    Case("archive.docx", "a zip archive (no word/document.xml) named .docx", zip_of_reports, codes=("unsupported_format",)),
    Case("gzipped.html", "gzip-compressed HTML saved raw", gzip_html, codes=("unsupported_format",)),
    Case("deep_divs.html", f"deeply nested HTML ({NESTING:,} levels of div)", deep_html, codes=("not_a_report",)),
    Case("deep_tables.html", "deeply nested HTML tables (3,000 levels)", deep_table_html, codes=("not_a_report",)),
    Case("bomb.docx", "DOCX that is a zip bomb (60 MB document.xml in 60 KB)", docx_bomb, codes=("too_large",)),
    Case("lying_bomb.docx", "DOCX zip bomb whose headers claim 1 KB (inflates to 30 MB)", docx_lying_bomb,
         codes=("corrupt_file",)),
    Case("truncated.docx", "truncated DOCX", truncated_docx, codes=("corrupt_file",)),
    Case("locked.docx", "password-protected Word file (OLE2 EncryptedPackage) named .docx", encrypted_docx,
         codes=("encrypted_file",)),
    Case("wrong_meta_utf8.html", "HTML whose meta says utf-8 over GB18030 bytes (a seed)", seed_html_wrong_meta,
         status="ok", needs="seeds"),
    Case("wrong_meta_latin1.html", "HTML declared iso-8859-1 over GB18030 bytes (a seed)", seed_html_latin1_meta,
         status="ok", needs="seeds"),
    Case("gb18030.txt", "a .txt in GB18030 (a seed)", seed_gb18030_txt, status="ok", needs="seeds"),
]


def available(case: Case) -> bool:
    if case.needs == "pymupdf":
        try:
            _pymupdf()
        except ImportError:
            return False
    if case.needs == "seeds":
        from conftest import SEEDS

        return all((SEEDS / s).is_file() for s in GOOD_SEEDS)
    return True


def build(dest: Path) -> list[Case]:
    """Write every available case into ``dest``; return those written."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for case in CASES:
        if available(case):
            (dest / case.name).write_bytes(case.make())
            out.append(case)
    return out
