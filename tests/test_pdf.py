"""The born-digital PDF reader: the real sample against its gold, the gold corpus drawn into PDFs
(ruled three ways, unruled, across pages, with blanks), and the files that must fail cleanly."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

pymupdf = pytest.importorskip("pymupdf")

from eval.harness import evaluate  # noqa: E402
from extractor.errors import CorruptFile, EncryptedFile, ExtractError, TooLarge  # noqa: E402
from extractor.ingest import read_document  # noqa: E402
from extractor.ingest.pdf import NeedsOCR, read_pdf  # noqa: E402
from extractor.pipeline import run_file  # noqa: E402
from extractor.read.rules import read_rules  # noqa: E402
from extractor.textnorm import parse_number  # noqa: E402
from tools.fixtures import blocks, grid  # noqa: E402

from conftest import SAMPLE_PDF as SAMPLE  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "gold"
FONT = "china-s"  # a CJK font built into pymupdf: no network, no system fonts


def _gold(name: str) -> dict:
    return json.loads((GOLD / f"{name}.json").read_text(encoding="utf-8"))


def _texts(doc) -> list[list[str]]:
    return [[c.text for c in r.cells] for r in doc.rows]


def _spans_ok(doc) -> bool:
    return all(doc.text[c.loc.start:c.loc.end] == c.text for r in doc.rows for c in r.cells)


def _row(doc, startswith: str) -> list[str]:
    return next(t for t in _texts(doc) if any(x.startswith(startswith) for x in t))


@pytest.fixture(scope="module")
def sample():
    if not SAMPLE.is_file():
        pytest.skip("../shared/samples is not beside this checkout")
    return read_pdf(SAMPLE.read_bytes(), str(SAMPLE))


# ---------------------------------------------------------------- the real sample


def test_sample_reads_every_scored_field_of_its_gold():
    if not SAMPLE.is_file():
        pytest.skip("../shared/samples is not beside this checkout")
    gold = _gold(SAMPLE.stem)
    result, doc, reading = run_file(SAMPLE, engine="rules")
    assert doc.kind == "pdf" and doc.pages == 5
    wrong = {k: (v, result.fields.get(k)) for k, v in gold["fields"].items()
             if k not in gold["unscored"] and result.fields.get(k) != v}
    assert wrong == {}
    assert result.meta == gold["meta"]
    # the only error is the narrative's 17 against the table's 95 (R6): no reading or grounding error
    assert {f.rule for f in result.flags if f.severity == "error"} == {"R6"}


def test_sample_every_value_points_at_its_printed_number(sample):
    reading = read_rules(sample)
    pdf = pymupdf.open(SAMPLE)
    checked = 0
    for key, value in reading.fields.items():
        if value is None:
            continue
        loc = reading.provenance[key]
        assert loc.page is not None and loc.bbox is not None, key
        clipped = pdf[loc.page - 1].get_text("text", clip=pymupdf.Rect(loc.bbox)).split()
        assert str(value) in clipped, (key, value, loc.page, loc.bbox, clipped)
        assert parse_number(sample.text[loc.start:loc.end]) == value, key
        checked += 1
    assert checked == 186  # every non-null scored value of the gold


def test_sample_layout(sample):
    assert _spans_ok(sample)
    texts = _texts(sample)
    # page numbers "- 1 -" … "- 5 -" are gone, headings are rows of their own
    assert not any(t.replace(" ", "") in {f"-{n}-" for n in range(1, 6)} for row in texts for t in row)
    assert ["三、收到和处理政府信息公开申请情况"] in texts
    assert ["四、政府信息公开行政复议、行政诉讼情况"] in texts
    # one char per line, and a label wrapped over two lines: one cell each
    assert _row(sample, "三、本年度办理结果")[:2] == ["三、本年度办理结果", "(一)予以公开"]
    assert _row(sample, "(二)部分公开") == ["(二)部分公开(区分处理的,只计这一情形,不计其他情形)",
                                        "9", "0", "0", "0", "0", "0", "9"]
    # table 三 runs on over the page break; the empty continuation of merged label cells is dropped
    assert _row(sample, "2.没有现成信息") == ["2.没有现成信息需要另行制作", "1", "0", "0", "0", "0", "0", "1"]
    assert _row(sample, "(六)其他处理") == ["(六)其他处理", "0", "0", "0", "0", "0", "0", "0"]
    # "审结总计" printed as one word over a column rule is cut at the rule
    assert ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计", "未经复议直接起诉", "复议后起诉"] in texts
    assert ["1", "1", "0", "0", "2", "1", "0", "0", "0", "1", "2", "0", "1", "0", "3"] in texts
    page_of = {c.text: c.loc.page for r in sample.rows for c in r.cells}
    assert page_of["三、收到和处理政府信息公开申请情况"] == 3 and page_of["四、结转下年度继续办理"] == 4


# ---------------------------------------------------------------- drawing reports into PDFs

W, H, LEFT, TOP, BOTTOM = 595.0, 842.0, 72.0, 72.0, 770.0
WIDTH = W - 2 * LEFT


def _font(text: str) -> str:
    return "helv" if text.isascii() else FONT  # digits in a Latin font, as real reports print them


def _width(text: str, size: float) -> float:
    return pymupdf.get_text_length(text, fontname=_font(text), fontsize=size)


def _wrap(text: str, width: float, size: float) -> list[str]:
    lines, cur = [], ""
    for ch in text:
        if cur and _width(cur + ch, size) > width:
            lines.append(cur)
            cur = ""
        cur += ch
    return lines + [cur] if cur else lines or [""]


def _col_widths(ncols: int) -> list[float]:
    if ncols == 10:  # table 三: 办理结果 | group | label | 7 values
        rest = (WIDTH - 24 - 56 - 150) / 7
        return [24, 56, 150] + [rest] * 7
    return [WIDTH / ncols] * ncols


class Drawer:
    """A minimal report typesetter: paragraphs, headings and ruled (or unruled) tables over pages.

    Drawing is recorded per page and written at the end with one pymupdf Shape per page (one
    content stream: fast to write and to read back).
    """

    def __init__(self, rules: str = "lines", footer: bool = True, header: str | None = None):
        self.rules, self.footer, self.header = rules, footer, header
        self.ops: list[list[tuple]] = []  # per page: ("text", point, text, size) | ("line", a, b) | ("bar", rect)
        self.y = BOTTOM
        self.size = 10.5

    def new_page(self):
        self.ops.append([])
        n = len(self.ops)
        if self.footer:
            text = f"- {n} -"
            x = W - LEFT - _width(text, 10) if n % 2 else LEFT
            self.ops[-1].append(("text", (x, H - 40), text, 10))
        if self.header:
            self.ops[-1].append(("text", (LEFT, 44), self.header, 9))
            self.ops[-1].append(("line", (LEFT, 50), (W - LEFT, 50)))
        self.y = TOP

    def room(self, h: float):
        if not self.ops or self.y + h > BOTTOM:
            self.new_page()

    def para(self, text: str, size: float = 12.0, indent: float = 24.0):
        for i, line in enumerate(_wrap(text, WIDTH - indent, size)):
            self.room(size * 1.8)
            self.ops[-1].append(("text", (LEFT + (indent if i == 0 else 0), self.y + size), line, size))
            self.y += size * 1.8

    def table(self, table, vertical: bool = True):
        ncols, placed, _ = grid(table)
        widths = _col_widths(ncols)
        xs = [LEFT]
        for w in widths:
            xs.append(xs[-1] + w)
        size, lh = self.size, self.size * 1.3
        # row heights from the cells that sit in one row
        heights = []
        for row in placed:
            need = 1
            for col, cell in row:
                if cell.rs == 1:
                    need = max(need, len(_wrap(cell.text, xs[col + cell.cs] - xs[col] - 4, size)))
            heights.append(max(20.0, need * lh + 8))
        # paginate: (page, y0, y1) of every row
        pos = []
        for h in heights:
            self.room(h)
            pos.append((len(self.ops) - 1, self.y, self.y + h))
            self.y += h
        self.y += 12
        for r, row in enumerate(placed):
            for col, cell in row:
                x0, x1 = xs[col], xs[col + cell.cs]
                parts: list[list] = []  # the cell's piece on each page it runs over
                for pno, y0, y1 in pos[r:r + cell.rs]:
                    if parts and parts[-1][0] == pno:
                        parts[-1][2] = y1
                    else:
                        parts.append([pno, y0, y1])
                for pno, y0, y1 in parts:
                    self._frame(self.ops[pno], pymupdf.Rect(x0, y0, x1, y1))
                pno, y0, y1 = max(parts, key=lambda p: p[2] - p[1])  # text goes where the cell has room
                self._text(self.ops[pno], cell.text, x0, x1, y0, y1, size, lh, vertical)

    def _frame(self, ops, rect):
        if self.rules == "lines":
            for a, b in ((rect.tl, rect.tr), (rect.bl, rect.br), (rect.tl, rect.bl), (rect.tr, rect.br)):
                ops.append(("line", a, b))
        elif self.rules == "rects":
            ops.append(("rect", rect))
        elif self.rules == "fills":  # borders as thin filled bars, as Word and WPS export them
            t = 0.5
            for bar in (pymupdf.Rect(rect.x0, rect.y0 - t / 2, rect.x1, rect.y0 + t / 2),
                        pymupdf.Rect(rect.x0, rect.y1 - t / 2, rect.x1, rect.y1 + t / 2),
                        pymupdf.Rect(rect.x0 - t / 2, rect.y0, rect.x0 + t / 2, rect.y1),
                        pymupdf.Rect(rect.x1 - t / 2, rect.y0, rect.x1 + t / 2, rect.y1)):
                ops.append(("bar", bar))

    def _text(self, ops, text, x0, x1, y0, y1, size, lh, vertical):
        if not text:
            return
        upright = vertical and x1 - x0 < 2.2 * size
        lines = list(text) if upright else _wrap(text, x1 - x0 - 4, size)  # upright: one character per line
        top = y0 + max(2.0, (y1 - y0 - len(lines) * lh) / 2)
        for i, line in enumerate(lines):
            w = _width(line, size)
            x = (x0 + x1 - w) / 2 if upright or len(lines) == 1 else x0 + 2
            ops.append(("text", (x, top + i * lh + size), line, size))

    def tobytes(self) -> bytes:
        pdf = pymupdf.open()
        for ops in self.ops:
            page = pdf.new_page(width=W, height=H)
            shape = page.new_shape()
            for op in ops:
                if op[0] == "line":
                    shape.draw_line(op[1], op[2])
                elif op[0] == "rect":
                    shape.draw_rect(op[1])
            shape.finish(width=0.5, color=(0, 0, 0))
            for op in ops:
                if op[0] == "bar":
                    shape.draw_rect(op[1])
            shape.finish(width=0, color=None, fill=(0, 0, 0))
            for op in ops:
                if op[0] == "text":
                    shape.insert_text(op[1], op[2], fontname=_font(op[2]), fontsize=op[3])
            shape.commit()
        return pdf.tobytes()


def render_pdf(gold: dict, rules: str = "lines", **kw) -> bytes:
    d = Drawer(rules=rules, **kw)
    for kind, content in blocks(gold):
        if kind == "title":
            d.para(content, size=16, indent=0)
        elif kind == "heading":
            d.para(content, size=12, indent=24)
        elif kind == "para":
            d.para(content)
        else:
            d.table(content)
    return d.tobytes()


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pdfs")
    for i, path in enumerate(sorted(GOLD.glob("*.json"))):
        gold = json.loads(path.read_text(encoding="utf-8"))
        rules = ("lines", "rects", "fills")[i % 3]
        header = "某某市人民政府办公室文件" if i % 2 else None
        (out / f"{gold['doc']}.pdf").write_bytes(render_pdf(gold, rules=rules, header=header))
    return out


def test_gold_corpus_drawn_as_ruled_pdfs_scores_full(drawn):
    report = evaluate(drawn, GOLD, engine="rules")
    assert not report["errors"] and not report["unpaired"]
    assert report["reports"] == len(list(GOLD.glob("*.json")))
    wrong = [(p["file"], p["wrong"][:3]) for p in report["per_report"] if p["wrong"]]
    assert report["field_accuracy"] == 1.0, wrong
    assert report["meta_accuracy"] == 1.0


def test_drawn_pdfs_are_grounded_and_keep_page_and_box(drawn):
    for path in sorted(drawn.glob("*.pdf")):
        result, doc, reading = run_file(path, engine="rules")
        assert _spans_ok(doc), path.name
        assert not [f for f in result.flags if f.rule in ("R7", "READ") and f.severity == "error"], path.name
        assert doc.pages >= 3  # table 三 runs over a page break in every one
        pdf = pymupdf.open(path)
        words = {n: pdf[n - 1].get_text("words") for n in range(1, doc.pages + 1)}
        for key, value in reading.fields.items():
            if value is None:
                continue
            loc = reading.provenance[key]
            x0, y0, x1, y1 = loc.bbox
            under = [w[4] for w in words[loc.page] if w[0] < x1 and w[2] > x0 and w[1] < y1 and w[3] > y0]
            assert [parse_number(t) for t in under] == [value], (path.name, key, under)


def test_running_headers_and_page_numbers_are_dropped(drawn):
    for path in sorted(drawn.glob("*.pdf")):
        doc = read_pdf(path.read_bytes(), str(path))
        for row in _texts(doc):
            for t in row:
                assert t.replace(" ", "") not in {f"-{n}-" for n in range(1, 20)}, path.name
                assert "某某市人民政府办公室文件" not in t, path.name


def test_page_frame_is_not_a_table():
    """A frame around every page, its header rule running into it: the prose inside stays prose."""
    gold = _gold("zibo_yiyuan_2023")
    pdf = pymupdf.open(stream=render_pdf(gold, header="某某市人民政府办公室文件"), filetype="pdf")
    for page in pdf:
        page.draw_rect(pymupdf.Rect(60, 30, 535, 790), width=1)
        page.draw_line((60, 50), (535, 50), width=0.5)
    doc = read_pdf(pdf.tobytes(), "framed.pdf")
    assert _texts(doc)[0] == ["沂源县人民政府2023年政府信息公开工作年度报告"]
    assert ["一、总体情况"] in _texts(doc)
    reading = read_rules(doc)
    assert reading.meta.organ == "沂源县人民政府"
    assert {k: (v, reading.fields.get(k)) for k, v in gold["fields"].items() if reading.fields.get(k) != v} == {}


def _blanked(name: str) -> dict:
    """A gold whose tables leave cells empty the way real reports do."""
    g = copy.deepcopy(_gold(name))
    f = g["fields"]
    cols = ("commercial", "research", "social_welfare", "legal_service", "other_org")
    for row in ("new_received", "carried_over", "disclosed", "withheld_state_secret", "total_processed"):
        for c in cols:  # all five 法人或其他组织 columns blank
            f[f"requests.{row}.{c}"] = None
    f["requests.unable_not_held.total"] = None  # a blank 总计
    f["requests.carried_forward.natural_person"] = None  # a blank first value
    f["active.licensing.decisions"] = None
    f["active.regulations.repealed"] = None
    for o in ("upheld", "corrected", "other", "pending"):
        f[f"appeals.lawsuit_direct.{o}"] = None
    g["source_consistent"] = False
    return g


def test_blank_cells_survive_as_empty_cells_and_read_null(tmp_path):
    gold = _blanked("zibo_yiyuan_2023")
    for rules in ("lines", "rects", "fills"):
        doc = read_pdf(render_pdf(gold, rules=rules), "blank.pdf")
        assert _row(doc, "一、本年新收")[1:] == ["105", "", "", "", "", "", "106"]
        assert _row(doc, "1.本机关不掌握")[-1] == ""
        assert _row(doc, "四、结转下年度")[1] == ""
        assert _row(doc, "规章") == ["规章", "0", "", "0"]
        assert _row(doc, "行政许可") == ["行政许可", ""]
        blank = next(c for r in doc.rows for c in r.cells if c.text == "" and c.loc.page is not None)
        assert blank.loc.bbox is not None and blank.loc.start == blank.loc.end
        reading = read_rules(doc)
        wrong = {k: (v, reading.fields.get(k)) for k, v in gold["fields"].items() if reading.fields.get(k) != v}
        assert wrong == {}, rules


def test_small_hand_drawn_table_blank_cell(tmp_path):
    """A grid drawn line by line, CJK text inserted, one value cell left empty."""
    pdf = pymupdf.open()
    page = pdf.new_page(width=W, height=H)
    page.insert_text((72, 90), "三、收到和处理政府信息公开申请情况", fontname=FONT, fontsize=12)
    xs = [72, 272] + [272 + 36 * k for k in range(1, 8)]
    ys = [110, 135, 160, 185]
    for y in ys:
        page.draw_line((xs[0], y), (xs[-1], y), width=0.5)
    for x in xs:
        page.draw_line((x, ys[0]), (x, ys[-1]), width=0.5)
    rows = [("一、本年新收政府信息公开申请数量", ["3", "0", "0", "0", "0", "0", ""]),
            ("二、上年结转政府信息公开申请数量", ["0", "0", "0", "0", "0", "0", "0"]),
            ("（七）总计", ["3", "", "0", "0", "0", "0", "3"])]
    for (label, vals), y in zip(rows, ys):
        page.insert_text((xs[0] + 2, y + 17), label, fontname=FONT, fontsize=10)
        for v, x in zip(vals, xs[1:]):
            if v:
                page.insert_text((x + 14, y + 17), v, fontname=FONT, fontsize=10)
    doc = read_pdf(pdf.tobytes(), "small.pdf")
    assert _texts(doc)[1:] == [["一、本年新收政府信息公开申请数量", "3", "0", "0", "0", "0", "0", ""],
                               ["二、上年结转政府信息公开申请数量", "0", "0", "0", "0", "0", "0", "0"],
                               ["(七)总计", "3", "", "0", "0", "0", "0", "3"]]
    empty = _row(doc, "一、本年新收")
    cell = next(r for r in doc.rows if r.cells[0].text.startswith("一、本年新收")).cells[-1]
    assert empty[-1] == "" and cell.loc.page == 1
    x0, y0, x1, y1 = cell.loc.bbox
    assert abs(x0 - xs[-2]) < 1 and abs(x1 - xs[-1]) < 1 and abs(y0 - ys[0]) < 1 and abs(y1 - ys[1]) < 1
    reading = read_rules(doc)
    assert reading.fields["requests.new_received.total"] is None
    assert reading.fields["requests.new_received.natural_person"] == 3
    assert reading.fields["requests.new_received.other_org"] == 0
    assert reading.fields["requests.total_processed.commercial"] is None
    assert reading.fields["requests.total_processed.research"] == 0


def test_word_over_a_rule_is_cut_and_fake_bold_is_read_once():
    pdf = pymupdf.open()
    page = pdf.new_page(width=W, height=H)
    xs, ys = [72, 112, 152, 192], [100, 130, 160]
    for y in ys:
        page.draw_line((xs[0], y), (xs[-1], y), width=0.5)
    for x in xs:
        page.draw_line((x, ys[0]), (x, ys[-1]), width=0.5)
    page.insert_text((72, 120), "尚未审结总计", fontname=FONT, fontsize=10)  # 40pt + 20pt: runs over x=112
    for dx in (0, 0.3, 0.6):  # bold faked by drawing the text three times
        page.insert_text((154 + dx, 120), "合计", fontname=FONT, fontsize=10)
    for x, v in zip(xs, ("1", "2", "3")):
        page.insert_text((x + 4, 150), v, fontname=FONT, fontsize=10)
    doc = read_pdf(pdf.tobytes(), "cut.pdf")
    assert _texts(doc) == [["尚未审结", "总计", "合计"], ["1", "2", "3"]]


def test_grid_edge_cases():
    pdf = pymupdf.open()
    page = pdf.new_page(width=W, height=H)
    # rows ruled, no column rules: label and numbers of a row in one grid cell
    for y in (100, 125, 150):
        page.draw_line((72, y), (500, y), width=0.5)
    for x in (72, 500):
        page.draw_line((x, 100), (x, 150), width=0.5)
    page.insert_text((74, 117), "1.本机关不掌握相关政府信息", fontname=FONT, fontsize=10)
    for k, v in enumerate(["746", "12", "0", "0", "10", "1", "769"]):
        page.insert_text((300 + 28 * k, 117), v, fontname="helv", fontsize=10)
    page.insert_text((74, 142), "总      计", fontname=FONT, fontsize=10)  # spread-out label: not cut
    # a double border (two rules 1.5pt apart) and a number wrapped in a narrow cell
    for y in (200, 201.5, 240, 241.5):
        page.draw_line((72, y), (300, y), width=0.5)
    for x in (72, 73.5, 200, 220, 298.5, 300):
        page.draw_line((x, 200), (x, 241.5), width=0.5)
    page.insert_text((76, 220), "本年新收", fontname=FONT, fontsize=10)
    page.insert_text((202, 220), "10", fontname="helv", fontsize=10)
    page.insert_text((202, 232), "5", fontname="helv", fontsize=10)
    doc = read_pdf(pdf.tobytes(), "edges.pdf")
    assert _texts(doc) == [["1.本机关不掌握相关政府信息", "746", "12", "0", "0", "10", "1", "769"],
                           ["总计"], ["本年新收", "105", ""]]


# ---------------------------------------------------------------- no rules: do what can be done


def test_unruled_tables_read_by_columns(tmp_path):
    gold = _blanked("zibo_zhangdian_govoffice_2023")
    doc = read_pdf(render_pdf(gold, rules="none"), "unruled.pdf")
    assert _spans_ok(doc)
    # blank 法人 columns come back as blank cells placed under their columns
    assert _row(doc, "一、本年新收")[1:] == [gold_v(gold, "new_received", "natural_person"), "", "", "", "", "",
                                        gold_v(gold, "new_received", "total")]
    assert any("blank cells of unruled tables" in n for n in doc.notes)
    assert _row(doc, "规章") == ["规章", "0", "", "0"]  # columns from the header line above
    # wrapped labels are joined; a label printed one character per line too
    texts = [t for row in _texts(doc) for t in row]
    assert "(二)部分公开(区分处理的,只计这一情形,不计其他情形)" in texts
    assert "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请" in texts
    assert "三、本年度办理结果" in texts
    reading = read_rules(doc)
    wrong = {k: (v, reading.fields.get(k)) for k, v in gold["fields"].items()
             if not k.startswith("appeals.") and reading.fields.get(k) != v}
    assert wrong == {}
    # Table 四 unruled, one row of 15 with four blanks: no column can be seen, so it is left to the
    # solver, which flags it rather than guess.
    assert reading.fields["appeals.lawsuit_direct.total"] is None


def gold_v(gold: dict, row: str, col: str) -> str:
    return str(gold["fields"][f"requests.{row}.{col}"])


# ---------------------------------------------------------------- files that must fail cleanly


def _tiny_pdf(text: str | None = "政府信息公开工作年度报告", pages: int = 1) -> bytes:
    pdf = pymupdf.open()
    for _ in range(pages):
        page = pdf.new_page(width=W, height=H)
        if text:
            page.insert_text((72, 100), text, fontname=FONT, fontsize=12)
        else:
            page.draw_rect(pymupdf.Rect(72, 72, 300, 300), color=(0, 0, 0), fill=(0.5, 0.5, 0.5))
    return pdf.tobytes()


def test_password_protected_pdf_raises_encrypted(tmp_path):
    pdf = pymupdf.open(stream=_tiny_pdf(), filetype="pdf")
    path = tmp_path / "locked.pdf"
    pdf.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    with pytest.raises(EncryptedFile) as e:
        read_pdf(path.read_bytes(), str(path))
    assert e.value.code == "encrypted_file" and "password" in str(e.value)
    with pytest.raises(EncryptedFile):
        read_document(path)


def test_owner_password_only_pdf_is_read(tmp_path):
    pdf = pymupdf.open(stream=_tiny_pdf(), filetype="pdf")
    path = tmp_path / "restricted.pdf"
    pdf.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_128, owner_pw="owner", permissions=0)
    doc = read_pdf(path.read_bytes(), str(path))
    assert _texts(doc) == [["政府信息公开工作年度报告"]]


def test_truncated_and_garbage_pdfs_raise_corrupt():
    data = SAMPLE.read_bytes() if SAMPLE.is_file() else _tiny_pdf(pages=3)
    for cut in (len(data) // 2, len(data) - 40):
        with pytest.raises(CorruptFile) as e:
            read_pdf(data[:cut], "cut.pdf")
        assert e.value.code == "corrupt_file"
    with pytest.raises(CorruptFile):
        read_pdf(b"%PDF-1.7\n" + b"\x00garbage" * 50, "junk.pdf")


def test_pdf_without_text_needs_ocr(tmp_path):
    with pytest.raises(NeedsOCR) as e:
        read_pdf(_tiny_pdf(text=None, pages=2), "scan.pdf")
    assert isinstance(e.value, ExtractError) and e.value.code == "needs_ocr"
    assert "OCR" in str(e.value)
    path = tmp_path / "scan.pdf"
    path.write_bytes(_tiny_pdf(text=None))
    result, doc, _ = run_file(path, engine="rules")
    assert result.status == "failed" and result.error["code"] == "needs_ocr" and doc is None


def test_page_limit_raises_too_large():
    data = _tiny_pdf(pages=4)
    assert read_pdf(data, "ok.pdf", max_pages=4).pages == 4
    with pytest.raises(TooLarge):
        read_pdf(data, "long.pdf", max_pages=3)


def test_pages_without_text_are_noted_and_a_scan_with_page_numbers_needs_ocr():
    d = Drawer()
    for _ in range(6):
        d.para("本报告根据《中华人民共和国政府信息公开条例》要求编制，所列数据的统计期限自2023年1月1日起至12月31日止。")
    pdf = pymupdf.open(stream=d.tobytes(), filetype="pdf")
    pdf.insert_pdf(pymupdf.open(stream=_tiny_pdf(text=None), filetype="pdf"))
    doc = read_pdf(pdf.tobytes(), "mixed.pdf")
    assert doc.pages == 2 and any("without a text layer" in n and "2" in n for n in doc.notes)
    # a scan whose only text is its page numbers (or a scanner's watermark) is still a scan
    scan = pymupdf.open()
    for n in range(1, 4):
        page = scan.new_page(width=W, height=H)
        page.draw_rect(pymupdf.Rect(72, 72, 500, 700), color=None, fill=(0.8, 0.8, 0.8))
        page.insert_text((280, H - 40), f"- {n} -", fontname="helv", fontsize=10)
        page.insert_text((400, 40), "扫描全能王 创建", fontname=FONT, fontsize=8)
    with pytest.raises(NeedsOCR):
        read_pdf(scan.tobytes(), "scan.pdf")


def test_rotated_page_is_read_as_shown():
    """A landscape page made with /Rotate 90: words and rules come sideways and are turned back."""
    pdf = pymupdf.open()
    page = pdf.new_page(width=W, height=H)
    page.set_rotation(90)
    m = page.derotation_matrix

    def at(x, y):
        return pymupdf.Point(x, y) * m

    xs = [72, 272] + [272 + 36 * k for k in range(1, 8)]
    ys = [110, 135]
    for y in ys:
        page.draw_line(at(xs[0], y), at(xs[-1], y), width=0.5)
    for x in xs:
        page.draw_line(at(x, ys[0]), at(x, ys[-1]), width=0.5)
    page.insert_text(at(74, 127), "一、本年新收政府信息公开申请数量", fontname=FONT, fontsize=10, rotate=90)
    for k, x in enumerate(xs[1:-2]):
        page.insert_text(at(x + 14, 127), str(k + 1), fontname="helv", fontsize=10, rotate=90)
    data = pdf.tobytes()
    doc = read_pdf(data, "landscape.pdf")
    assert _texts(doc) == [["一、本年新收政府信息公开申请数量", "1", "2", "3", "4", "5", "6", ""]]
    shown = pymupdf.open(stream=data, filetype="pdf")[0]
    cell = doc.rows[0].cells[3]
    assert shown.get_text("text", clip=pymupdf.Rect(cell.loc.bbox)).split() == ["3"]
