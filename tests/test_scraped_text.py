"""The text that scrapers extract from a PDF with common libraries, read as text: the held-out PDFs
of tests/data/realistic turned into text by pymupdf (plain and sorted), pdfplumber (its text, and its
tables as markdown between the page's lines) and pdfminer, then scored
against their gold files. Text loses the cells, so some rows cannot be read; what is pinned here is
how much is read, and that no value is wrong without an error flag naming its cell."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eval.harness import evaluate
from extractor.pipeline import run_file

pymupdf = pytest.importorskip("pymupdf")
DATA = Path(__file__).parent / "data" / "realistic"
PDFS = sorted((DATA / "docs").glob("*.pdf"))


def _pymupdf(path: Path, sort: bool) -> str:
    with pymupdf.open(path) as pdf:
        return "\n".join(page.get_text(sort=sort) for page in pdf)


def _pdfplumber(path: Path) -> str:
    pdfplumber = pytest.importorskip("pdfplumber")
    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def _pdfplumber_tables(path: Path) -> str:
    """A common scraper recipe: each page's text lines outside its tables, and each table (found by
    its ruling lines) as a markdown pipe table, in the order they stand on the page."""
    pdfplumber = pytest.importorskip("pdfplumber")
    out = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            tables = page.find_tables()
            boxes = [t.bbox for t in tables]

            def outside(obj, boxes=boxes) -> bool:
                cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
                return not any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes)

            items = [(line["top"], line["text"]) for line in page.filter(outside).extract_text_lines()]
            for t in tables:
                rows = ["| " + " | ".join("" if c is None else str(c).replace("\n", "") for c in r) + " |"
                        for r in t.extract()]
                if rows:
                    rows.insert(1, "|" + "---|" * rows[0].count(" | ") + "---|")
                items.append((t.bbox[1], "\n" + "\n".join(rows) + "\n"))
            out.append("\n".join(text for _, text in sorted(items, key=lambda item: item[0])))
    return "\n".join(out)


def _pdfminer(path: Path) -> str:
    pytest.importorskip("pdfminer")
    from pdfminer.high_level import extract_text

    return extract_text(str(path))


RECIPES = {  # recipe -> (text of a PDF, fields read right at least: measured, rounded down)
    "pymupdf": (lambda p: _pymupdf(p, sort=False), 0.94),  # 94.5%
    "pymupdf_sorted": (lambda p: _pymupdf(p, sort=True), 0.88),  # 88.4%
    "pdfplumber": (_pdfplumber, 0.94),  # 94.8%
    "pdfplumber_tables": (_pdfplumber_tables, 0.95),  # 95.5%
    # pdfminer's default text puts a ruled table's labels first, then its numbers column by column:
    # little can be read (table 三 is refused), but nothing may be wrong without a flag
    "pdfminer": (_pdfminer, 0.0),
}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_text_scraped_from_pdfs_reads_mostly_right_and_never_silently_wrong(recipe, tmp_path):
    extract, floor = RECIPES[recipe]
    docs, gold = tmp_path / "docs", tmp_path / "gold"
    docs.mkdir()
    gold.mkdir()
    for pdf in PDFS:
        (docs / f"{pdf.stem}.txt").write_text(extract(pdf), encoding="utf-8")
        shutil.copy(DATA / "gold" / f"{pdf.stem}.json", gold)
    report = evaluate(docs, gold, engine="rules")
    assert report["reports"] == len(PDFS) == 5
    assert report["field_accuracy"] >= floor, report["field_accuracy"]
    for rep in report["per_report"]:
        assert rep["flagged"] or not rep["wrong"], rep["doc"]
        result = run_file(Path(rep["file"]), "rules")[0]
        named = {k for f in result.flags if f.severity == "error" for k in f.keys}
        silent = [w["key"] for w in rep["wrong"] if w["got"] is not None and w["key"] not in named]
        assert silent == [], (rep["doc"], silent)
