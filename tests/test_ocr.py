"""Scanned PDFs: pages without a text layer read by OCR into the same Document as born-digital ones.

OCR is slow (a few seconds a page), so these tests draw one or two small pages. The whole scanned
fixture corpus against its gold is opt-in: OGI_OCR_CORPUS=1 (needs LibreOffice for the PDFs).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

pymupdf = pytest.importorskip("pymupdf")
pytest.importorskip("cv2")
pytest.importorskip("rapidocr_onnxruntime")

from extractor.document import Cell  # noqa: E402
from extractor.errors import ExtractError  # noqa: E402
from extractor.ingest import ocr, ocr_models  # noqa: E402
from extractor.ingest.pdf import UNSURE, NeedsOCR, read_pdf  # noqa: E402
from extractor.pipeline import run_file  # noqa: E402
from extractor.read.cells import tokens_of  # noqa: E402
from extractor.read.rules import read_rules  # noqa: E402
from extractor.textnorm import parse_number  # noqa: E402
from tools.scan import scan_pdf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FONT = "china-s"
W, H = 595.0, 842.0
XS = [60, 270] + [270 + 38 * k for k in range(1, 8)]
YS = [140, 165, 190, 215, 240, 265]
ROWS = [("一、本年新收政府信息公开申请数量", ["12", "0", "3", "0", "0", "1", "16"]),
        ("二、上年结转政府信息公开申请数量", ["2", "0", "0", "0", "", "0", "2"]),
        ("（一）予以公开", ["9", "0", "1", "0", "0", "0", "10"]),
        ("（七）总计", ["14", "0", "3", "0", "0", "1", "18"]),
        ("四、结转下年度继续办理", ["0", "0", "0", "0", "0", "0", "0"])]


def _table_page(pdf, rows=ROWS, title: bool = True):
    page = pdf.new_page(width=W, height=H)
    if title:
        page.insert_text((60, 80), "某某县人民政府2023年政府信息公开工作年度报告", fontname=FONT, fontsize=15)
    page.insert_text((60, 122), "三、收到和处理政府信息公开申请情况", fontname=FONT, fontsize=12)
    ys = YS[: len(rows) + 1]
    for y in ys:
        page.draw_line((XS[0], y), (XS[-1], y), width=0.6)
    for x in XS:
        page.draw_line((x, ys[0]), (x, ys[-1]), width=0.6)
    for (label, vals), y in zip(rows, ys):
        page.insert_text((XS[0] + 3, y + 17), label, fontname=FONT, fontsize=10.5)
        for v, x in zip(vals, XS[1:]):
            if v:
                page.insert_text((x + 12, y + 17), v, fontname="helv", fontsize=10.5)
    return page


def _scanned_table(**kw) -> bytes:
    pdf = pymupdf.open()
    _table_page(pdf, **kw)
    return scan_pdf(pdf.tobytes(), dpi=200, seed="table", skew=0.8)


@pytest.fixture(scope="module")
def scanned() -> bytes:
    return _scanned_table()


@pytest.fixture(scope="module")
def scanned_doc(scanned):
    return read_pdf(scanned, "scan.pdf", ocr=ocr.ocr_hook("rapidocr"))


def _row(doc, start: str) -> list[str]:
    return next([c.text for c in r.cells] for r in doc.rows if r.cells[0].text.startswith(start))


def test_scan_has_no_text_layer_and_needs_ocr_without_a_hook(scanned):
    page = pymupdf.open(stream=scanned, filetype="pdf")[0]
    assert page.get_text().strip() == "" and page.get_images()
    with pytest.raises(NeedsOCR):
        read_pdf(scanned, "scan.pdf")


def test_scanned_table_reads_back_its_numbers(scanned_doc):
    doc = scanned_doc
    assert any("OCR" in n for n in doc.notes)
    assert all(doc.text[c.loc.start:c.loc.end] == c.text for r in doc.rows for c in r.cells)
    for label, vals in ROWS:
        key = label.replace("（", "(").replace("）", ")")[:6]
        assert _row(doc, key)[1:] == vals, label
    assert not [c for r in doc.rows for c in r.cells if c.unsure]
    reading = read_rules(doc)
    assert reading.meta.year == 2023 and reading.meta.organ == "某某县人民政府"
    f = reading.fields
    assert [f[f"requests.new_received.{c}"] for c in ("natural_person", "research", "other_org", "total")] == [12, 3, 1, 16]
    assert f["requests.carried_over.legal_service"] is None  # the blank cell stays blank
    assert f["requests.total_processed.total"] == 18


def test_ocr_boxes_land_on_the_printed_numbers(scanned_doc):
    """Page + bbox in PDF points of the page as scanned: the box covers where the digit was drawn
    (the scan is turned by 0.8°, so a box can be off by a point or two)."""
    doc = scanned_doc
    row = next(r for r in doc.rows if r.cells[0].text.startswith("一、本年新收"))
    t = math.radians(0.8)  # the scan turned the page 0.8° counter-clockwise about its centre
    for cell, x, v in zip(row.cells[1:], XS[1:], ROWS[0][1]):
        x0, y0, x1, y1 = cell.loc.bbox
        assert cell.loc.page == 1 and x1 - x0 < 20 and y1 - y0 < 14, (cell.text, cell.loc.bbox)
        # the value was drawn from (x + 12, YS[0] + 17) on its baseline; where is its middle on the scan?
        cx, cy = x + 12 + pymupdf.get_text_length(v, "helv", 10.5) / 2, YS[0] + 17 - 3.8
        sx = W / 2 + (cx - W / 2) * math.cos(t) + (cy - H / 2) * math.sin(t)
        sy = H / 2 - (cx - W / 2) * math.sin(t) + (cy - H / 2) * math.cos(t)
        assert x0 - 1.5 <= sx <= x1 + 1.5 and y0 - 1.5 <= sy <= y1 + 1.5, (cell.text, cell.loc.bbox, sx, sy)


class _Doubting(ocr.Reader):
    """The real engine, except that one digit comes back the way OCR misreads: a letter O for 0,
    and another with a low confidence."""

    def __init__(self, real: ocr.Reader):
        self.real = real

    def page(self, img):
        boxes = self.real.page(img)
        nines = [b for b in boxes if b.text.strip() == "9"]
        sixteens = [b for b in boxes if b.text.strip() == "16"]
        assert nines and sixteens
        nines[0].confs = [0.2]
        sixteens[0].text = "1O"  # as if the 6 had read as a letter O
        return boxes

    def crops(self, imgs):
        return self.real.crops(imgs)


def test_unsure_digits_are_flagged_not_guessed(scanned, monkeypatch, tmp_path):
    real = ocr._reader("rapidocr")
    monkeypatch.setattr(ocr, "_reader", lambda name: _Doubting(real))
    path = tmp_path / "doubt.pdf"
    path.write_bytes(scanned)
    result, doc, reading = run_file(path, engine="rules")
    assert result.status == "flagged"
    unsure = {c.text: c for r in doc.rows for c in r.cells if c.unsure}
    assert set(unsure) == {"9?", "1O?"}
    assert doc.text[unsure["9?"].loc.start:unsure["9?"].loc.end] == "9?"  # shown to a reviewer, never a number
    assert parse_number("9?") is None
    f = result.fields
    assert f["requests.disclosed.natural_person"] is None and f["requests.new_received.total"] is None
    assert f["requests.disclosed.research"] == 1 and f["requests.new_received.research"] == 3  # the rest of the row keeps its place
    ocr_flags = [fl for fl in result.flags if fl.rule == "OCR"]
    assert {k for fl in ocr_flags for k in fl.keys} == {"requests.disclosed.natural_person", "requests.new_received.total"}
    assert all(fl.severity == "error" for fl in ocr_flags)


def test_mark_flags_lookalikes_and_low_confidence_only_in_numbers():
    assert ocr._mark("105", [0.99, 0.98, 0.99], 0.5) == "105"
    assert ocr._mark("1O5", [0.99, 0.9, 0.99], 0.5) == "1O" + UNSURE + "5"
    assert ocr._mark("l2", [0.9, 0.9], 0.5) == "l" + UNSURE + "2"
    assert ocr._mark("8", [0.3], 0.5) == "8" + UNSURE
    assert ocr._mark("O", [0.9], 0.5) == "O" + UNSURE
    assert ocr._mark("行政处罚", [0.2] * 4, 0.5) == "行政处罚"  # a label is read as it is
    assert ocr._mark("2023年1月", [0.3] * 7, 0.5) == "2023年1月"
    assert ocr._mark("—", [0.4], 0.5) == "—"
    assert ocr._mark(".", [0.4], 0.5) is None  # a speck
    assert ocr._mark("四丶结转", [0.9] * 4, 0.5) == "四、结转"
    cell = Cell(text="1O?", unsure=True)
    (tok,) = tokens_of([type("R", (), {"cells": [cell]})()])
    assert tok.kind == "unsure" and tok.value is None


def test_textless_pdf_goes_through_ocr_end_to_end_and_mixed_pages_keep_their_text_layer(tmp_path):
    """Page 1 is born-digital (title and heading), page 2 a scan of table 三: one Document, in page order."""
    digital = pymupdf.open()
    page = digital.new_page(width=W, height=H)
    page.insert_text((60, 80), "某某县人民政府2023年政府信息公开工作年度报告", fontname=FONT, fontsize=15)
    page.insert_text((60, 120), "一、总体情况", fontname=FONT, fontsize=12)
    page.insert_text((60, 150), "全年共收到政府信息公开申请16件。", fontname=FONT, fontsize=12)
    scanned = pymupdf.open(stream=_scanned_table(title=False), filetype="pdf")
    digital.insert_pdf(scanned)
    path = tmp_path / "mixed_2023.pdf"
    path.write_bytes(digital.tobytes())
    result, doc, _ = run_file(path, engine="rules")
    assert result.status != "failed", result.error
    assert any("pages read by OCR: 2" in n for n in doc.notes)
    assert doc.rows[0].cells[0].text == "某某县人民政府2023年政府信息公开工作年度报告"
    assert doc.rows[0].cells[0].loc.page == 1 and _row(doc, "一、本年新收")[1:] == ROWS[0][1]
    assert result.meta["organ"] == "某某县人民政府" and result.meta["year"] == 2023
    assert result.fields["requests.new_received.total"] == 16
    prov = result.provenance["requests.new_received.total"]
    assert prov["page"] == 2 and len(prov["bbox"]) == 4
    # a textless page where OCR finds nothing either: a clear error, not an empty report
    blank = pymupdf.open()
    blank.new_page(width=W, height=H).draw_rect(pymupdf.Rect(72, 72, 300, 300), color=None, fill=(0.6, 0.6, 0.6))
    with pytest.raises(ExtractError) as e:
        read_pdf(blank.tobytes(), "blank.pdf", ocr=ocr.ocr_hook("rapidocr"))
    assert e.value.code == "needs_ocr" and "OCR found no more" in str(e.value)


def test_engine_is_chosen_by_env(monkeypatch):
    monkeypatch.setenv("OGI_OCR_ENGINE", "tesseract")
    assert ocr.engine_name() == "tesseract"
    monkeypatch.setenv("OGI_OCR_ENGINE", "nonsense")
    with pytest.raises(ValueError):
        ocr.engine_name()
    monkeypatch.delenv("OGI_OCR_ENGINE")
    assert ocr.engine_name() == ocr.DEFAULT_ENGINE


@pytest.mark.skipif(not os.environ.get("OGI_OCR_CORPUS"), reason="slow: set OGI_OCR_CORPUS=1 to OCR the whole scanned corpus")
def test_scanned_fixture_corpus_scores(tmp_path):
    from eval.harness import evaluate
    from tools import scan

    made = scan.build(tmp_path, ROOT / "gold")
    if not made:
        pytest.skip("LibreOffice is needed to render the fixture PDFs")
    from extractor.limits import Limits

    report = evaluate(tmp_path, tmp_path / "gold", engine="rules", limits=Limits(max_seconds=None))
    assert not report["errors"], report["errors"]
    assert report["field_accuracy"] >= 0.99, report["by_format"]
    assert report["flags"]["recall"] == 1.0  # every report OCR got a field of wrong is flagged


def test_detector_window_finds_the_boxes_of_the_whole_page(scanned):
    """The detector runs on the inked window of the page only, sampled as RapidOCR samples the whole
    page: the same boxes come back (within a pixel) as from RapidOCR's own whole-page call."""
    import cv2
    import numpy as np

    page = pymupdf.open(stream=scanned, filetype="pdf")[0]
    pix = page.get_pixmap(dpi=200, colorspace=pymupdf.csGRAY, alpha=False)
    gray = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)[:, : pix.width].copy()
    reader = ocr._reader("rapidocr")
    ours = reader._detect(gray, ocr._ink(gray))
    theirs, _ = reader.eng(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), use_cls=False, use_rec=False)
    assert len(ours) == len(theirs) > 10
    key = lambda q: (round(float(np.min(q[:, 1])) / 4), round(float(np.min(q[:, 0])) / 4))  # noqa: E731
    for a, b in zip(sorted(ours, key=key), sorted(np.array(theirs, np.float32), key=key)):
        assert np.abs(a - b).max() <= 1.5


def test_rule_mask_matches_label_lookup():
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, (40, 60)).astype(np.int32)
    pieces, keep = [], np.array([False, True, False, True, False])
    for k in range(1, 5):
        ys, xs = np.nonzero(labels == k)
        pieces.append([0, 0, 0, k, xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1])
    assert (ocr._mask(labels, pieces, keep) == keep[labels]).all()


def _shipped_model(part: str) -> bytes:
    import rapidocr_onnxruntime

    name = {"det": "ch_PP-OCRv4_det_infer.onnx", "rec": "ch_PP-OCRv4_rec_infer.onnx"}[part]
    return (Path(rapidocr_onnxruntime.__file__).parent / "models" / name).read_bytes()


def _session(model: bytes):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def _ops(model: bytes) -> list[str]:
    import onnx

    return [n.op_type for n in onnx.load_from_string(model).graph.node]


@pytest.mark.parametrize("part", ["det", "rec"])
def test_fused_models_compute_what_the_shipped_ones_do(part, scanned):
    """The regrouped model gives the shipped model's outputs (to float rounding) on a real input:
    the scanned table page for the detector, crops of it for the recogniser; and the spelled-out
    HardSwish (Clip, Div) and the per-layer affines are gone."""
    import cv2
    import numpy as np

    data = _shipped_model(part)
    fused = ocr_models.fuse(data)
    ops, new_ops = _ops(data), _ops(fused)
    assert ops.count("Clip") >= 20 and "Clip" not in new_ops  # each HardSwish: Add, Clip, Mul, Div
    assert new_ops.count("Div") == ops.count("Div") - ops.count("Clip")
    assert new_ops.count("Mul") + new_ops.count("Add") < 0.7 * (ops.count("Mul") + ops.count("Add"))
    page = pymupdf.open(stream=scanned, filetype="pdf")[0]
    pix = page.get_pixmap(dpi=100, colorspace=pymupdf.csGRAY, alpha=False)
    gray = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)[:, : pix.width]
    if part == "det":
        h, w = (gray.shape[0] // 32) * 32, (gray.shape[1] // 32) * 32
        inputs = [np.broadcast_to(gray[:h, :w] * np.float32(2 / 255) - 1, (1, 3, h, w)).copy()]
    else:  # the title line and a row label, at the recogniser's height
        inputs = [np.broadcast_to(cv2.resize(gray[y0:y1, x0:x1], (round(48 * (x1 - x0) / (y1 - y0)), 48))
                                  * np.float32(2 / 255) - 1, (1, 3, 48, round(48 * (x1 - x0) / (y1 - y0)))).copy()
                  for y0, y1, x0, x1 in ((int(66 * 100 / 72), int(84 * 100 / 72), int(58 * 100 / 72), int(300 * 100 / 72)),
                                         (int(145 * 100 / 72), int(161 * 100 / 72), int(60 * 100 / 72), int(200 * 100 / 72)))]
    a, b = _session(data), _session(fused)
    name = a.get_inputs()[0].name
    for x in inputs:
        want, got = a.run(None, {name: x})[0], b.run(None, {name: x})[0]
        assert want.shape == got.shape
        assert np.abs(want - got).max() < 1e-3
        if part == "rec":  # the same characters read
            assert (want.argmax(axis=-1) == got.argmax(axis=-1)).all()


def test_fused_models_are_made_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("OGI_OCR_CACHE", str(tmp_path))
    stale = tmp_path / "ch_PP-OCRv4_det_infer.0000000000000000.fused0.onnx"
    stale.write_bytes(b"an older rewrite")
    paths = ocr_models.fused_models()
    assert set(paths) == {"det_model_path", "rec_model_path"}
    made = {k: Path(v).stat().st_mtime_ns for k, v in paths.items()}
    assert all(Path(v).parent == tmp_path for v in paths.values()) and not stale.exists()
    assert ocr_models.fused_models() == paths  # the second time: read from the cache, not made again
    assert {k: Path(v).stat().st_mtime_ns for k, v in paths.items()} == made
    assert not list(tmp_path.glob("*.tmp"))
    monkeypatch.setenv("OGI_OCR_CACHE", str(tmp_path / "file"))
    (tmp_path / "file").write_text("not a directory")
    assert ocr_models.fused_models() == {}  # nowhere to write: the shipped models, unchanged


def test_components_use_16_bit_labels_until_there_are_too_many_pieces():
    import cv2
    import numpy as np

    img = np.zeros((60, 80), np.uint8)
    img[5:9, 3:40] = 255
    img[20:50, 60:62] = 255
    count, labels, stats = ocr._components(img)
    want = cv2.connectedComponentsWithStats(img, connectivity=8, ltype=cv2.CV_32S)
    assert labels.dtype == np.uint16 and count == want[0] == 3
    assert (labels == want[1]).all() and (stats == want[2]).all()
    dots = np.zeros((800, 800), np.uint8)
    dots[::3, ::3] = 255  # 267 x 267 pieces: more than 16-bit labels hold
    count, labels, _ = ocr._components(dots)
    assert count == 267 * 267 + 1 and labels.dtype == np.int32


def test_an_image_of_a_page_is_read_like_a_scan(tmp_path):
    """A PNG (and a JPEG) of a table page, named directly: one A4-wide page through OCR, the same
    cells as the scanned PDF, every box on that page."""
    from extractor.ingest import read_document
    from extractor.ingest.image import image_as_pdf

    pdf = pymupdf.open()
    _table_page(pdf)
    pix = pdf[0].get_pixmap(dpi=200, colorspace=pymupdf.csGRAY)  # a scanner's usual resolution
    for name, data in (("page.png", pix.tobytes("png")), ("page.jpg", pix.tobytes("jpg", jpg_quality=90))):
        (tmp_path / name).write_bytes(data)
        doc = read_document(tmp_path / name)
        assert doc.kind == "pdf" and doc.pages == 1 and any("OCR" in n for n in doc.notes)
        for label, vals in ROWS:
            key = label.replace("（", "(").replace("）", ")")[:6]
            assert _row(doc, key)[1:] == vals, (name, label)
        page = pymupdf.open(stream=image_as_pdf(data, name), filetype="pdf")[0]
        assert round(page.rect.width) == 595 and round(page.rect.height) == 842
        assert all(0 <= c.loc.bbox[0] < c.loc.bbox[2] <= 595 for r in doc.rows for c in r.cells if c.loc.bbox)
