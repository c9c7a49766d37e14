"""OCR for PDF pages without a text layer (scans), feeding the same layout as born-digital PDFs.

``read_pdf(data, path, ocr=ocr_hook())`` reads pages that have a text layer as usual and hands every
page without one (nothing, or only a page number or a scanner app's watermark in its margins) to
the hook, which returns words and ruling lines in the page's own coordinates; ``pdf.py`` then cuts
the page into grid cells, lines and rows exactly as for a born-digital page. A page through OCR:

1. is rendered in grey at ``OGI_OCR_DPI`` (default 200) as shown (``/Rotate`` applied);
2. is deskewed: the angle (±3°) that makes the rows of ink sharpest (projection profile, coarse
   then fine, on a half-size image) is turned back; boxes are mapped back onto the page as scanned
   for ``Location.bbox``;
3. gives up its ruling lines: thin runs of ink at least 40 pt long, and shorter ones (10 pt or more)
   whose both ends run into such a rule across them, become rules [y, x0, x1] / [x, y0, y1] (see
   ``_rules``), which make grids just as drawn rules do; they are then painted out so OCR reads only
   the text (a border set close to a character no longer reads as "|" or "1");
4. is read by the OCR engine (``OGI_OCR_ENGINE``: ``rapidocr``, the default — PP-OCRv4 detection and
   recognition shipped inside the ``rapidocr-onnxruntime`` wheel — or ``tesseract`` with ``chi_sim``);
   each text line becomes a word with its box (cut down to its ink) in points. Ink that no box
   covers (a lone "1" the detector passed over) is clustered and read on its own; a short number
   read with a doubt is read again from a crop cut tight to its ink, and the surer reading kept.

**A digit OCR is unsure of is flagged, not guessed.** In a word that reads as a number (digits,
and letters that look like digits: ``O`` for 0, ``l`` or ``I`` for 1, ``S`` for 5, ``B`` for 8 …),
every look-alike letter and every digit read with low confidence (below ``OGI_OCR_MIN_CONF``,
default 0.5; tesseract's word confidence / 100) is followed by ``pdf.UNSURE``. A cell holding one
becomes ``Cell(unsure=True)`` with the mark shown as ``?`` (``"1O?"``, ``"8?"``); the rules reader
leaves its value null with an ``OCR`` error flag naming the cell, so the report is flagged for a
reviewer. Specks read as lone punctuation are dropped.

Engine threads: ``OGI_OCR_THREADS`` (default 1: per-core cost is predictable, batch workers run
files in parallel).

RapidOCR's models run regrouped (``ocr_models``: the same arithmetic, with each layer's affine and
HardSwish folded so that onnxruntime fuses them into its convolutions; ~20% less CPU, the same
outputs to float rounding), made once from the wheel's models into ``OGI_OCR_CACHE`` (default
``~/.cache/ogi-extract/ocr``; the shipped models are used where it cannot be written). Memory: the
detector's activations (~170 MB for a page at 200 dpi) live in an onnxruntime arena, reused page
after page, and MuPDF's store drops each page image once it is rendered.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pymupdf

from extractor.document import Document
from extractor.ingest import ocr_models
from extractor.ingest.pdf import DEFAULT_MAX_PAGES, UNSURE, NeedsOCR, OcrPage, read_pdf
from extractor.limits import check_deadline, paused

ENGINES = ("rapidocr", "tesseract")
DEFAULT_ENGINE = "rapidocr"

_RULE_SHORT_PT = 10.0  # a thin run of ink at least this long may be a ruling line ...
_RULE_LONG_PT = 40.0  # ... and one at least this long is one (no character stroke is)
_LOOKALIKE = "OoDQlI|!iSsBZzg"  # letters OCR puts for digits: O/o/D/Q 0, l/I/|/!/i 1, S/s 5, B 8, Z/z 2, g 9
_NUMBERISH = re.compile(rf"^[\d{re.escape(_LOOKALIKE)}.,，．\-−]+$")
_SHORT_LATIN = re.compile(r"^[A-Za-z0-9|!.,'`:;\-−]{1,4}$")  # a lone "p", "o'": a digit misread, in a table
_NUMBER_CHARS = set("0123456789.,-−")
_NARROW_BATCH = 8  # narrow crops per recogniser run (more gains nothing: the run turns compute-bound)
_NOISE = re.compile(r"^[\s.,，。、·•'‘’\"“”`:;：；]*$")  # a speck read as a mark (a dash is a value: kept)


@dataclass
class TextBox:
    """One OCR'd run of text: its box in image pixels, its text, and a confidence per character."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    confs: list[float]


def engine_name(name: str | None = None) -> str:
    name = (name or os.environ.get("OGI_OCR_ENGINE") or DEFAULT_ENGINE).strip().lower()
    if name not in ENGINES:
        raise ValueError(f"OGI_OCR_ENGINE={name!r}: choose one of {', '.join(ENGINES)}")
    return name


def ocr_hook(engine: str | None = None, dpi: int | None = None) -> Callable[[pymupdf.Page], OcrPage]:
    """A hook for ``read_pdf(..., ocr=...)``; the engine is loaded on the first page that needs it."""
    dpi = dpi or int(os.environ.get("OGI_OCR_DPI", "200"))
    min_conf = float(os.environ.get("OGI_OCR_MIN_CONF", "0.5"))

    def hook(page: pymupdf.Page) -> OcrPage:
        check_deadline()
        try:
            name = engine_name(engine)
        except ValueError as e:
            raise NeedsOCR(f"the PDF needs OCR but {e}") from None
        with paused():  # loading the models (once per process) is not the file's time
            reader = _reader(name)
        return ocr_page(page, reader, dpi, min_conf, note=f"OCR engine {name} at {dpi} dpi, pages deskewed")

    return hook


def read_pdf_ocr(data: bytes, path: str, max_pages: int = DEFAULT_MAX_PAGES, engine: str | None = None) -> Document:
    """A PDF whose pages without a text layer are read by OCR (pages with one keep the fast path)."""
    return read_pdf(data, path, max_pages=max_pages, ocr=ocr_hook(engine))


# ---------------------------------------------------------------- one page


def ocr_page(page: pymupdf.Page, reader: "Reader", dpi: int = 200,
             min_conf: float = 0.5, note: str = "") -> OcrPage:
    import cv2

    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    gray = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)[:, : pix.width].copy()
    scale = page.rect.width / pix.width  # points per pixel (the page as shown)
    del pix
    # MuPDF keeps each page image it decodes in its store (up to 256 MB): a scan's pages, ~4 MB each,
    # piled up there for the life of the process. A page is rendered once; nothing is lost.
    pymupdf.TOOLS.store_shrink(100)
    angle = _skew(gray)
    to_page = None
    if abs(angle) >= 0.05:
        h, w = gray.shape
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        gray = cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
        a = cv2.invertAffineTransform(m)
        to_page = (a[0, 0], a[1, 0], a[0, 1], a[1, 1], a[0, 2] * scale, a[1, 2] * scale)
    check_deadline()
    hs, vs, clean = _rules(gray, scale)
    del gray
    check_deadline()
    boxes = reader.page(clean)
    check_deadline()
    boxes += _missed(clean, boxes, reader, scale)
    words = []
    for b in boxes:
        text = _mark(b.text, b.confs, min_conf)
        if text is None:
            continue
        words.append((b.x0 * scale, b.y0 * scale, b.x1 * scale, b.y1 * scale, text))
    return OcrPage(words=words, hs=hs, vs=vs, to_page=to_page, note=note)


def _missed(img: np.ndarray, boxes: list[TextBox], reader: "Reader", scale: float) -> list[TextBox]:
    """Ink that no OCR box covers (a lone narrow digit the detector passed over) -> clusters,
    each read on its own. Specks, and bits sticking out of a box, are too small to count."""
    import cv2

    bw = _ink(img)
    pad = max(2, int(round(1.5 / scale)))
    for b in boxes:
        bw[max(0, int(b.y0) - pad):int(b.y1) + pad + 1, max(0, int(b.x0) - pad):int(b.x1) + pad + 1] = 0
    px = 1 / scale  # pixels per point
    glue = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(4 * px)), max(3, int(2 * px))))
    count, _, stats = _components(cv2.dilate(bw, glue))
    found = []
    for k in range(1, count):
        x, y, w, h, _ = (int(v) for v in stats[k])
        # the glue grew each cluster by ~2 pt / 1 pt a side; a glyph is at least ~5 pt high or wide
        gw, gh = w - 4 * px, h - 2 * px
        if not (max(gw, gh) >= 5 * px and gh <= 40 * px and gw <= 400 * px):
            continue
        if bw[y:y + h, x:x + w].sum() / 255 < 6 * px:  # too little ink for a character
            continue
        box = _tight(bw, x, y, x + w, y + h)
        if box is not None:
            found.append(box)
    if not found:
        return []
    recs = reader.crops([_crop(img, b, margin=max(3, int(0.25 * (b[3] - b[1])))) for b in found])
    recs = _second_look(reader, img, found, recs)
    return [TextBox(*box, text, confs) for box, (text, confs) in zip(found, recs) if text.strip()]


def _mark(text: str, confs: list[float], min_conf: float) -> str | None:
    """OCR text -> the word's text, with UNSURE after each character of a number it is unsure of;
    None for a speck read as punctuation."""
    text = text.strip().replace("丶", "、")  # the enumeration comma, as OCR often reads it
    if _NOISE.match(text):
        return None
    if not _numberlike(text):
        return text
    out = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        out.append(ch)
        conf = confs[i] if i < len(confs) else 1.0
        if (ch not in _NUMBER_CHARS or (ch.isdigit() and conf < min_conf)
                or (ch in ".," and i in (0, last)) or (ch in "-−" and i > 0)):  # "0." : a speck, or a digit?
            out.append(UNSURE)
    return "".join(out)


def _numberlike(text: str) -> bool:
    """Could this word be a number as OCR misreads one: digits and digit look-alikes ("1O5"), or
    a short run of Latin letters, digits and marks with no Chinese ("p", "o'")?"""
    if _NUMBERISH.match(text):
        return any(ch.isdigit() for ch in text) or (any(ch in _LOOKALIKE for ch in text) and len(text) <= 3)
    return bool(_SHORT_LATIN.match(text)) and any(ch.isalnum() for ch in text)


def _skew(gray: np.ndarray) -> float:
    """The page's skew in degrees (the turn that straightens it): the angle whose row profile of
    ink is sharpest, searched over ±3° on a half-size binarised image."""
    import cv2

    small = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)
    _, bw = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    if not bw.any():
        return 0.0
    h, w = bw.shape
    centre = (w / 2, h / 2)

    def score(angle: float) -> float:
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rows = cv2.warpAffine(bw, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0).sum(axis=1, dtype=np.float64)
        return float(np.square(np.diff(rows)).sum())

    best = max(np.arange(-3.0, 3.01, 0.25), key=score)
    return float(max(np.arange(best - 0.25, best + 0.251, 0.05), key=score))


def _rules(gray: np.ndarray, scale: float) -> tuple[list[list[float]], list[list[float]], np.ndarray]:
    """Ruling lines (in points) found in the deskewed page, and the page with them painted out.

    Candidates are thin runs of ink at least ``_RULE_SHORT_PT`` long (a morphological opening of
    the binarised page); pieces in line with each other and almost touching are one candidate. A
    candidate is a rule when it is long (``_RULE_LONG_PT``: longer than any character stroke);
    a shorter piece is one when both its ends run into a long rule across it (a rule between two
    columns of a one-row band). A stroke of a character stops short of the border beside it.
    """
    import cv2

    bw = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)
    thick = 4.0 / scale  # px: a rule is thinner than ~4 pt
    n = max(9, int(round(_RULE_SHORT_PT / scale)))
    comps = []  # per orientation: (labels, pieces [pos, start, end, label, x, y, w, h] in pt / px)
    for horizontal in (True, False):
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (n, 1) if horizontal else (1, n))
        count, labels, stats = _components(cv2.morphologyEx(bw, cv2.MORPH_OPEN, kernel))
        pieces = []
        for k in range(1, count):
            x, y, w, h = (int(v) for v in stats[k, :4])
            if horizontal and h <= thick:
                pieces.append([(y + h / 2) * scale, x * scale, (x + w) * scale, k, x, y, w, h])
            elif not horizontal and w <= thick:
                pieces.append([(x + w / 2) * scale, y * scale, (y + h) * scale, k, x, y, w, h])
        comps.append((labels, pieces, count))
    keeps = []
    for labels, pieces, count in comps:  # long candidates first: they decide the short ones
        keep = np.zeros(count, dtype=bool)
        for group in _groups(pieces, 1.0):
            if group[0][2] - group[0][1] >= _RULE_LONG_PT:
                keep[[p[3] for p in group[1]]] = True
        keeps.append(keep)
    long_masks = [cv2.dilate(_mask(labels, pieces, keep), np.ones((5, 5), np.uint8))
                  for (labels, pieces, _), keep in zip(comps, keeps)]
    for o, (labels, pieces, _) in enumerate(comps):
        across = long_masks[1 - o]
        for p in pieces:
            if keeps[o][p[3]]:
                continue
            x, y, w, h = p[4:8]
            if o == 0:
                ends = across[y:y + h, max(0, x - 1):x + 2], across[y:y + h, max(0, x + w - 2):x + w + 1]
            else:
                ends = across[max(0, y - 1):y + 2, x:x + w], across[max(0, y + h - 2):y + h + 1, x:x + w]
            if all(e.any() for e in ends):
                keeps[o][p[3]] = True
    hs = [g[0] for g in _groups([p for p in comps[0][1] if keeps[0][p[3]]], 1.5)]
    vs = [g[0] for g in _groups([p for p in comps[1][1] if keeps[1][p[3]]], 1.5)]
    lines = _mask(comps[0][0], comps[0][1], keeps[0]) | _mask(comps[1][0], comps[1][1], keeps[1])
    lines = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    clean = gray.copy()
    clean[lines > 0] = 255
    return hs, vs, clean


def _components(bw: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """``cv2.connectedComponentsWithStats`` (8-connected): count, labels, stats. Labels are 16-bit
    (half the memory of 32, and ~3x faster on a page) unless there are too many pieces for them."""
    import cv2

    try:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(bw, connectivity=8, ltype=cv2.CV_16U)
    except cv2.error:  # 65535 pieces or more
        count, labels, stats, _ = cv2.connectedComponentsWithStats(bw, connectivity=8, ltype=cv2.CV_32S)
    return count, labels, stats


def _mask(labels: np.ndarray, pieces: list[list], keep: np.ndarray) -> np.ndarray:
    """1 where a kept piece's label is (``keep[labels]``, looking only inside the kept pieces' boxes)."""
    out = np.zeros(labels.shape, np.uint8)
    for p in pieces:
        if keep[p[3]]:
            x, y, w, h = p[4:8]
            out[y:y + h, x:x + w] |= labels[y:y + h, x:x + w] == p[3]
    return out


def _groups(pieces: list[list], tol: float) -> list[tuple[list[float], list[list]]]:
    """Pieces of one rule (in line, gaps under ``tol`` pt) -> ([pos, start, end], pieces)."""
    out: list[tuple[list[float], list[list]]] = []
    for p in sorted(pieces, key=lambda p: (p[0], p[1])):
        for seg, members in out:
            if abs(seg[0] - p[0]) <= tol and p[1] <= seg[2] + tol and seg[1] <= p[2] + tol:
                seg[1], seg[2] = min(seg[1], p[1]), max(seg[2], p[2])
                members.append(p)
                break
        else:
            out.append(([p[0], p[1], p[2]], [p]))
    return out


# ---------------------------------------------------------------- engines


class Reader:
    """An OCR engine: ``page`` finds and reads the text of a page image (grey, rules painted out);
    ``crops`` reads small images that each hold one run of text."""

    def page(self, img: np.ndarray) -> list[TextBox]:
        raise NotImplementedError

    def crops(self, imgs: list[np.ndarray]) -> list[tuple[str, list[float]]]:
        raise NotImplementedError


@functools.lru_cache(maxsize=2)
def _reader(name: str) -> Reader:
    threads = int(os.environ.get("OGI_OCR_THREADS", "1"))
    if name == "rapidocr":
        return RapidReader(threads)
    return TesseractReader(threads)


class RapidReader(Reader):
    """RapidOCR: PP-OCRv4 detection (DBNet) and recognition (SVTR, CTC) on onnxruntime."""

    def __init__(self, threads: int = 1):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as e:
            raise NeedsOCR("the PDF needs OCR but rapidocr-onnxruntime is not installed "
                           "(pip install rapidocr-onnxruntime, or set OGI_OCR_ENGINE=tesseract)") from e
        kw = {"intra_op_num_threads": threads, "inter_op_num_threads": 1} if threads > 0 else {}
        # The models as shipped spell out each layer's affine and HardSwish as single ops; regrouped
        # (``ocr_models.fuse``, written once to the cache) they run 20-30% faster with the same outputs.
        fused = ocr_models.fused_models()
        try:
            self.eng = RapidOCR(**kw, **fused)
        except Exception:  # noqa: BLE001 - a cached model that does not load: the shipped ones
            if not fused:
                raise
            self.eng = RapidOCR(**kw)
        self.eng.text_det.infer.session = ocr_models.arena_session(self.eng.text_det.infer.session, threads)
        # Recognition pads every crop to at least rec_img_shape's width (320 px): a lone "0" cost as
        # much as a line of text. Pad only to the widest crop of each batch.
        # One wide crop per run: padding crops of a batch to the widest costs more than batching
        # saves; narrow ones, all padded to 48 px anyway, run 8 at a time (``_rec``).
        self.eng.text_rec.rec_image_shape = [3, 48, 48]
        self.eng.text_rec.rec_batch_num = 1
        # Detection input, long side in px: ~1200 finds the text of a page at a third of 1600's cost;
        # a small glyph it misses (a lone "1") is found again as ink no box covers (``_missed``).
        self.eng.max_side_len = int(os.environ.get("OGI_OCR_DET_SIDE", "1200"))

    def page(self, img: np.ndarray) -> list[TextBox]:
        ink = _ink(img)
        dets = self._detect(img, ink)
        if not len(dets):
            return []
        check_deadline()
        quads, boxes = [], []
        for quad in dets:
            xs, ys = [p[0] for p in quad], [p[1] for p in quad]
            box = _tight(ink, int(min(xs)), int(min(ys)), int(max(xs)) + 1, int(max(ys)) + 1)
            if box is not None:  # the box (for the layout) is the ink inside the detector's box
                quads.append(quad)
                boxes.append(box)
        if not boxes:
            return []
        recs = self.crops(self.eng.get_crop_img_list(img, np.array(quads, dtype=np.float32)))
        recs = _second_look(self, img, boxes, recs)
        return [TextBox(*b, text, confs) for b, (text, confs) in zip(boxes, recs) if text.strip()]

    def _detect(self, img: np.ndarray, ink: np.ndarray) -> np.ndarray:
        """Text boxes (quads, page pixels) found by the detector in the part of the page that holds
        ink (blank margins cost as much as text), at the scale RapidOCR would give the whole page:
        long side down to ``max_side_len``, short side up to the detector's ``limit_side_len``."""
        import cv2

        h, w = img.shape
        det = self.eng.text_det
        # RapidOCR's sizes for the whole page: each side a multiple of 32 (so x and y scale apart)
        r = min(1.0, self.eng.max_side_len / max(h, w))
        sw, sh = max(32, round(int(w * r) / 32) * 32), max(32, round(int(h * r) / 32) * 32)
        if min(sw, sh) < det.limit_side_len:
            up = det.limit_side_len / min(sw, sh)
            sw, sh = max(32, round(int(sw * up) / 32) * 32), max(32, round(int(sh * up) / 32) * 32)
        fx, fy = sw / w, sh / h
        rows = np.flatnonzero(ink.any(axis=1))
        cols = np.flatnonzero(ink.any(axis=0))
        if not len(rows):
            return np.zeros((0, 4, 2), np.float32)
        m = 24  # detector px kept round the ink: more than its box grows past a glyph
        # the window, in the detector's pixels of the whole page (so it samples the page as they do)
        X0, Y0 = max(0, int(cols[0] * fx) - m), max(0, int(rows[0] * fy) - m)
        X1, Y1 = min(sw, int((cols[-1] + 1) * fx) + 1 + m), min(sh, int((rows[-1] + 1) * fy) + 1 + m)
        pw, ph = -(-(X1 - X0) // 32) * 32, -(-(Y1 - Y0) // 32) * 32  # the network wants multiples of 32
        # cv2.resize's sampling (pixel centres) of the whole page, shifted to the window
        mat = np.array([[fx, 0, 0.5 * fx - 0.5 - X0], [0, fy, 0.5 * fy - 0.5 - Y0]], np.float64)
        small = cv2.warpAffine(img, mat, (pw, ph), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        x = small * np.float32(2 / 255) - np.float32(1)  # RapidOCR's (v / 255 - 0.5) / 0.5
        x[:, X1 - X0:] = 1.0  # past the page (or the window's right edge): blank paper
        x[Y1 - Y0:] = 1.0
        x = np.ascontiguousarray(np.broadcast_to(x, (1, 3, ph, pw)))
        pred = det.infer(x)[0]
        boxes, _ = det.postprocess_op(pred, (ph, pw))
        quads = []
        for box in boxes:
            box = det.order_points_clockwise(np.asarray(box, np.float32) + np.array([X0, Y0], np.float32))
            box = det.clip_det_res(box, sh, sw)
            if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
                continue
            quads.append(box)
        if not quads:
            return np.zeros((0, 4, 2), np.float32)
        return np.array(self.eng.sorted_boxes(np.array(quads)), np.float32) * np.array([w / sw, h / sh], np.float32)

    def _rec(self, pieces: list[np.ndarray]) -> list:
        """The recogniser's reading of each piece. Pieces that fit its narrowest input (a lone digit
        or two) all pad to that same width, so they are run a few at a time (less overhead per run,
        nothing padded); wider pieces one at a time."""
        rec = self.eng.text_rec
        shape = rec.rec_image_shape
        narrow = [k for k, im in enumerate(pieces) if im.shape[1] * shape[1] <= shape[2] * im.shape[0]]
        wide = [k for k, im in enumerate(pieces) if im.shape[1] * shape[1] > shape[2] * im.shape[0]]
        out: list = [None] * len(pieces)
        for ks, batch in ((narrow, _NARROW_BATCH), (wide, 1)):
            if ks:
                rec.rec_batch_num = batch
                for k, r in zip(ks, rec([pieces[k] for k in ks], True)[0]):
                    out[k] = r
        return out

    def crops(self, imgs: list[np.ndarray]) -> list[tuple[str, list[float]]]:
        """Each crop's text and per-character confidence. A long line is read in pieces cut at
        blank columns (recognition costs more than linearly in a crop's width)."""
        import cv2

        imgs = [cv2.cvtColor(i, cv2.COLOR_GRAY2BGR) if i.ndim == 2 else i for i in imgs]
        pieces: list[np.ndarray] = []
        owner: list[int] = []
        for k, im in enumerate(imgs):
            for part in _cut_long(im):
                pieces.append(part)
                owner.append(k)
        recs = self._rec(pieces)
        out: list[tuple[str, list[float]]] = [("", []) for _ in imgs]
        for k, rec in zip(owner, recs):
            text, confs = out[k]
            piece = rec[0]
            piece_confs = list(rec[2][4]) if len(rec) > 2 and piece else []
            if len(piece_confs) != len(piece):
                piece_confs = [float(rec[1])] * len(piece)
            out[k] = (text + piece, confs + piece_confs)
        return out


def _second_look(reader: Reader, img: np.ndarray, boxes: list[tuple], recs: list[tuple[str, list[float]]]
                 ) -> list[tuple[str, list[float]]]:
    """A short number read with a doubt (a low confidence, or a letter among digits) is read again
    from a crop cut tight to its ink: the recogniser sees a lone digit larger and reads it more
    surely ("0", not "o"). The surer of the two readings is kept; a doubt that remains is flagged."""
    again = [k for k, (text, confs) in enumerate(recs) if len(text.strip()) <= 8 and _doubtful(text, confs)]
    if not again:
        return recs
    out = list(recs)
    for k, (text, confs) in zip(again, reader.crops([_crop(img, boxes[k]) for k in again])):
        if _sureness(text, confs) > _sureness(*out[k]):
            out[k] = (text, confs)
    return out


def _doubtful(text: str, confs: list[float]) -> bool:
    t = text.strip()
    return _numberlike(t) and (any(ch not in _NUMBER_CHARS for ch in t) or min(confs, default=0) < 0.9)


def _sureness(text: str, confs: list[float]) -> tuple[bool, float]:
    t = text.strip()
    return bool(t) and all(ch in _NUMBER_CHARS for ch in t), min(confs, default=0.0)


def _ink(img: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.adaptiveThreshold(img, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)


def _tight(ink: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> tuple[int, int, int, int] | None:
    """A box cut down to the ink inside it; None when it holds no ink."""
    h, w = ink.shape
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    part = ink[y0:y1, x0:x1]
    rows = np.flatnonzero(part.any(axis=1))
    cols = np.flatnonzero(part.any(axis=0))
    if not len(rows) or not len(cols):
        return None
    return x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1


def _crop(img: np.ndarray, box: tuple, margin: int = 3) -> np.ndarray:
    x0, y0, x1, y1 = (int(v) for v in box)
    return img[max(0, y0 - margin):y1 + margin, max(0, x0 - margin):x1 + margin]


def _cut_long(im: np.ndarray, max_ratio: float = 8.0) -> list[np.ndarray]:
    """A crop much wider than high -> pieces about ``max_ratio`` heights wide, cut at the emptiest
    column near each cut (between characters)."""
    h, w = im.shape[:2]
    if w <= max_ratio * h * 1.3:
        return [im]
    grey = im if im.ndim == 2 else im[:, :, 0]
    ink = (grey < 128).sum(axis=0)
    cuts, at = [0], 0
    while w - at > max_ratio * h * 1.3:
        lo, hi = int(at + max_ratio * h * 0.75), int(at + max_ratio * h * 1.1)
        col = lo + int(np.argmin(ink[lo:hi]))
        cuts.append(col)
        at = col
    cuts.append(w)
    return [im[:, a:b] for a, b in zip(cuts, cuts[1:]) if b - a > 2]


class TesseractReader(Reader):
    """Tesseract 5 (LSTM) with ``chi_sim``, through its command line (TSV output)."""

    def __init__(self, threads: int = 1):
        self.exe = shutil.which("tesseract")
        if self.exe is None:
            raise NeedsOCR("the PDF needs OCR but tesseract is not installed "
                           "(apt-get install tesseract-ocr tesseract-ocr-chi-sim, or set OGI_OCR_ENGINE=rapidocr)")
        self.env = dict(os.environ, OMP_THREAD_LIMIT=str(max(1, threads)))
        self.psm = os.environ.get("OGI_TESSERACT_PSM", "6")  # a block of text: 39% of fields on the scans, --psm 11 19%

    def _run(self, img: np.ndarray, psm: str) -> list[TextBox]:
        import cv2

        _, png = cv2.imencode(".png", img)
        proc = subprocess.run([self.exe, "stdin", "stdout", "-l", "chi_sim", "--psm", psm, "tsv"],
                              input=png.tobytes(), capture_output=True, env=self.env, timeout=300, check=False)
        if proc.returncode != 0:
            raise NeedsOCR(f"tesseract failed: {proc.stderr.decode(errors='replace')[-300:]}")
        return _tsv_boxes(proc.stdout.decode("utf-8", errors="replace"))

    def page(self, img: np.ndarray) -> list[TextBox]:
        return self._run(img, self.psm)

    def crops(self, imgs: list[np.ndarray]) -> list[tuple[str, list[float]]]:
        out = []
        for im in imgs:
            boxes = self._run(np.pad(im, 10, constant_values=255) if im.ndim == 2 else im, "7")
            text, confs = "", []
            for b in boxes:
                text += b.text
                confs += b.confs
            out.append((text, confs))
        return out


def _tsv_boxes(tsv: str) -> list[TextBox]:
    """Tesseract's TSV (one row per word) -> runs of words on one line with no wide gap between them."""
    lines: dict[tuple[str, str, str], list[tuple[int, int, int, int, str, float]]] = {}
    for row in tsv.splitlines()[1:]:
        f = row.split("\t")
        if len(f) < 12 or f[0] != "5" or not f[11].strip():
            continue
        left, top, width, height = int(f[6]), int(f[7]), int(f[8]), int(f[9])
        lines.setdefault((f[2], f[3], f[4]), []).append((left, top, left + width, top + height, f[11].strip(),
                                                         max(0.0, float(f[10])) / 100))
    out: list[TextBox] = []
    for words in lines.values():
        words.sort()
        run: list = []
        for w in words:
            if run:
                h = max(w[3] - w[1], run[-1][3] - run[-1][1])
                if w[0] - run[-1][2] > 0.9 * h:
                    out.append(_run_box(run))
                    run = []
            run.append(w)
        if run:
            out.append(_run_box(run))
    return out


def _run_box(run: list) -> TextBox:
    text, confs = "", []
    for w in run:
        if text and text[-1].isascii() and w[4][0].isascii() and text[-1].isalnum() and w[4][0].isalnum():
            text += " "
            confs.append(1.0)
        text += w[4]
        confs.extend([w[5]] * len(w[4]))
    return TextBox(min(w[0] for w in run), min(w[1] for w in run), max(w[2] for w in run),
                   max(w[3] for w in run), text, confs)
