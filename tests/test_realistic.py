"""A held-out set of twenty-three realistic reports in the shapes scrapers deliver, written and labelled
by hand for this test (tests/data/realistic/{docs,gold}; each gold file's notes say what is hard in
it). Text: web text one cell per line, tab-separated Word text, pdftotext, PDF-to-markdown,
tag-stripped HTML with glued digits; Word-exported HTML; DOCX: a township with blank columns, a
table split in two, reordered 第二十条 blocks, full-width digits and 件, the 2019 format; PDF:
a table across a page break with its header repeated, horizontal rules only, landscape pages, a
15-cell table 四, LibreOffice output with labels wrapped over five lines, unrelated tables before
table 二; HTML from CMS platforms (GBK with layout tables, TRS editor divs with Word's hidden
text, tables given as images), UTF-16 and GB18030 text, an announcement's title, two reports in
one file, a table 三 with two extra columns (上年同期总计, 增减) and a 合计 row in table 二; and one
report with printed errors. They were not used to write the reader; what they
found is fixed and pinned in test_rules.py (a line of numbers read as one number, thousands and
dashes after a label, a markdown "#" or 关于 in the organ, a narrative sub-heading taking a table's
part, a 合计 row, extra columns, a second report in the file) and test_pdf/test_validate. One more,
OCR'd text, reads only in part, each cell it misses left null and the report flagged
(tests/data/flagged_not_read)."""

from pathlib import Path

from eval.harness import evaluate

DATA = Path(__file__).parent / "data" / "realistic"


def test_realistic_reports_read_exactly_and_only_the_printed_errors_are_flagged():
    report = evaluate(DATA / "docs", DATA / "gold", engine="rules")
    assert report["reports"] == 23 and not report["errors"] and not report["unpaired"]
    wrong = {r["doc"]: r["wrong"] for r in report["per_report"] if r["scored"] != r["correct"]}
    assert wrong == {}
    assert report["meta_accuracy"] == 1.0
    flagged = {r["doc"] for r in report["per_report"] if r["flagged"]}
    # printed errors (总计 row, 行政复议 total; a narrative figure), and tables printed as images
    assert flagged == {"yishui_health_2024", "mudan_district_2022", "xuyi_guanzhen_2021"}
    assert report["flags"]["recall"] == 1.0 and report["flags"]["precision"] == 1.0


def test_an_unruled_pdf_table_with_blank_cells_takes_its_columns_from_the_header():
    """A PDF table with horizontal rules only whose zero cells are blank, and no row printing all
    seven columns: the columns are where the header's labels are (自然人 … 总计, wrapped over two
    lines), so each value lands under its own column and the blanks stay blank. Before, the
    rows with blanks could not be placed (16 cells null, flagged); table 二's block titles
    (第二十条第（一）项, centred between two columns) must not be taken for a column."""
    data = Path(__file__).parent / "data" / "unruled_blanks"
    report = evaluate(data, data, engine="rules")
    [rep] = report["per_report"]
    assert rep["scored"] == rep["correct"] == 207 and not rep["flagged"]


def test_ocr_text_with_letters_for_digits_is_flagged_and_guesses_nothing():
    """An OCR'd text with letters for digits ("1O", "l"): every such cell is null under an OCR error;
    the one clean-looking misread (8 for 3) is caught by R1-R3; the report is flagged."""
    data = Path(__file__).parent / "data" / "flagged_not_read"
    report = evaluate(data, data, engine="rules")
    [rep] = report["per_report"]
    assert rep["flagged"] and rep["scored"] - rep["correct"] == 14
    got = {w["key"]: w["got"] for w in rep["wrong"] if w["got"] is not None}
    assert got == {"requests.partially_disclosed.natural_person": 8}
