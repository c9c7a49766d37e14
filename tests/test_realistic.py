"""A held-out set of eight realistic reports in the shapes scrapers deliver (web text one cell per
line, Word-exported HTML, tab-separated Word text, pdftotext, PDF-to-markdown, tag-stripped HTML with
glued digits, a DOCX of a township with blank cells, and a report with printed errors), written
and labelled by hand for this test: tests/data/realistic/{docs,gold}, notes in each gold file.
They were not used to write the reader; the three bugs they found (a line of numbers read as one
number, a markdown "#" in the organ, a narrative sub-heading taking a table's part) are fixed and
pinned in test_rules.py."""

from pathlib import Path

from eval.harness import evaluate

DATA = Path(__file__).parent / "data" / "realistic"


def test_realistic_reports_read_exactly_and_only_the_printed_errors_are_flagged():
    report = evaluate(DATA / "docs", DATA / "gold", engine="rules")
    assert report["reports"] == 8 and not report["errors"] and not report["unpaired"]
    wrong = {r["doc"]: r["wrong"] for r in report["per_report"] if r["scored"] != r["correct"]}
    assert wrong == {}
    assert report["meta_accuracy"] == 1.0
    flagged = {r["doc"] for r in report["per_report"] if r["flagged"]}
    assert flagged == {"yishui_health_2024"}  # its 总计 row and 行政复议 total are printed wrong
    assert report["flags"]["recall"] == 1.0 and report["flags"]["precision"] == 1.0
