"""The text that scrapers extract from a PDF with common libraries, read as text: the held-out PDFs
of tests/data/realistic turned into text by pymupdf (plain and sorted), pdfplumber and pdfminer, then scored
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


def _pdfminer(path: Path) -> str:
    pytest.importorskip("pdfminer")
    from pdfminer.high_level import extract_text

    return extract_text(str(path))


RECIPES = {  # recipe -> (text of a PDF, fields read right at least: measured, rounded down)
    "pymupdf": (lambda p: _pymupdf(p, sort=False), 0.94),  # 94.5%
    "pymupdf_sorted": (lambda p: _pymupdf(p, sort=True), 0.88),  # 88.4%
    "pdfplumber": (_pdfplumber, 0.94),  # 94.8%
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
