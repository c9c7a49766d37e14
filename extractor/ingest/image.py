"""An image file -- a scanned or photographed page (PNG, JPEG, TIFF with one or more frames, GIF) --
as a PDF of one page per frame, which the PDF reader then reads through OCR like any scan.

Each page is A4 wide (portrait, or landscape for a frame wider than tall), whatever the image's
pixel count or its dots-per-inch tag says: OCR renders pages at a fixed resolution and measures
ruling lines in points, so a page the size of a printed one reads like a printed one. The review
page renders the same conversion, so boxes land where they were read.
"""

from __future__ import annotations

from extractor.errors import CorruptFile, TooLarge

A4_SHORT, A4_LONG = 595.0, 842.0  # points


def image_as_pdf(data: bytes, name: str, max_pages: int = 0) -> bytes:
    import pymupdf

    try:
        img = pymupdf.open(stream=data)  # MuPDF tells the image type from its bytes
        frames = pymupdf.open("pdf", img.convert_to_pdf())
    except Exception as e:  # noqa: BLE001 - MuPDF's own errors on a truncated or broken image
        raise CorruptFile(f"{name}: not a readable image ({type(e).__name__}: {e})") from e
    if max_pages and frames.page_count > max_pages:
        raise TooLarge(f"{name}: {frames.page_count} frames is over the limit of {max_pages} pages (--max-pages)")
    out = pymupdf.open()
    for k, frame in enumerate(frames):
        r = frame.rect
        if r.width <= 0 or r.height <= 0:
            raise CorruptFile(f"{name}: frame {k + 1} of the image has no size")
        width = A4_SHORT if r.width <= r.height else A4_LONG
        page = out.new_page(width=width, height=width * r.height / r.width)
        page.show_pdf_page(page.rect, frames, k)
    return out.tobytes(garbage=3, deflate=True)
