"""Scanned fixtures: gold files rendered to PDF, then rasterised into image-only PDFs as a scanner makes them.

    python -m tools.scan OUTDIR [--gold gold] [--dpi 200] [--seed 0] [--from-pdf DIR]

Every ``<doc>.json`` under the gold folder becomes ``<doc>.scan.pdf`` (pairing with the gold file
by its name up to the first dot): the born-digital PDF that ``tools.fixtures`` renders through
LibreOffice (or, with ``--from-pdf DIR``, the ``<doc>.pdf`` files already there) with every page
rasterised in grey at ``--dpi``, turned by a small skew (0.5-1°, either way, per page), slightly
blurred, given sensor noise and a few specks, JPEG-compressed, and put back as the page's only
content: no text layer, so the reader must OCR it. The damage is seeded by the document's name,
so a rebuild gives the same files. As with ``tools.fixtures``, ``OUTDIR/gold/`` receives the
rendered copies' gold (score with ``--gold OUTDIR/gold``); with ``--from-pdf`` the PDFs are
someone else's, so score them against their own gold.

``scan_pdf(data)`` does the same to any PDF's bytes (the OCR tests use it on small pages they draw).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pymupdf


def scan_page_image(pix: pymupdf.Pixmap, rng: np.random.Generator, skew: float | None = None,
                    noise: float = 6.0, specks: int = 40):
    """A grey page image -> the same page as scanned (PIL image): skewed, blurred, noisy, specked."""
    from PIL import Image, ImageFilter

    img = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    if skew is None:
        skew = float(rng.uniform(0.5, 1.0) * rng.choice((-1, 1)))
    if skew:
        img = img.rotate(skew, resample=Image.BICUBIC, expand=False, fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    a = np.asarray(img, dtype=np.float32)
    a = a * 0.92 + 12  # paper is not white, ink is not black
    a += rng.normal(0.0, noise, a.shape).astype(np.float32)
    h, w = a.shape
    for _ in range(specks):  # dust: small dark dots away from nothing in particular
        y, x = int(rng.integers(0, h - 3)), int(rng.integers(0, w - 3))
        r = int(rng.integers(1, 3))
        a[y:y + r, x:x + r] = rng.uniform(40, 120)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")


def scan_pdf(data: bytes, dpi: int = 200, seed: int | str = 0, skew: float | None = None, noise: float = 6.0,
             quality: int = 80) -> bytes:
    """A PDF's bytes -> an image-only PDF of the same page sizes, each page a noisy, skewed scan."""
    rng = np.random.default_rng(int(hashlib.sha256(str(seed).encode()).hexdigest()[:8], 16))
    src = pymupdf.open(stream=data, filetype="pdf")
    out = pymupdf.open()
    for page in src:
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
        img = scan_page_image(pix, rng, skew=skew, noise=noise)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality, dpi=(dpi, dpi))
        new = out.new_page(width=page.rect.width, height=page.rect.height)
        new.insert_image(new.rect, stream=buf.getvalue())
    made = out.tobytes(garbage=3, deflate=True)
    src.close()
    out.close()
    return made


def build(outdir: Path, gold_dir: Path = Path("gold"), dpi: int = 200, seed: int = 0,
          from_pdf: Path | None = None) -> list[Path]:
    """``<doc>.scan.pdf`` for every gold file; born-digital PDFs from ``from_pdf`` or LibreOffice."""
    from tools import fixtures

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="ogi-scan-") as tmp:
        src_dir = Path(from_pdf) if from_pdf else Path(tmp)
        if from_pdf is None:
            fixtures.build(src_dir, gold_dir, formats=(), pdf=True)
        for gold in sorted(Path(gold_dir).glob("*.json")):
            name = gold.stem
            pdf = src_dir / f"{name}.pdf"
            if not pdf.is_file():
                print(f"warning: no PDF for {name} (is LibreOffice installed?)", file=sys.stderr)
                continue
            if from_pdf is None:  # rendered from gold: the rendered copy's own gold goes beside it
                fixtures.write_rendered_gold(outdir, name, json.loads(gold.read_text(encoding="utf-8")))
            target = outdir / f"{name}.scan.pdf"
            target.write_bytes(scan_pdf(pdf.read_bytes(), dpi=dpi, seed=f"{seed}:{name}"))
            made.append(target)
    return made


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.scan", description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--gold", type=Path, default=Path("gold"))
    ap.add_argument("--dpi", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--from-pdf", type=Path, default=None, help="take <doc>.pdf from this folder instead of rendering")
    args = ap.parse_args(argv)
    made = build(args.outdir, args.gold, args.dpi, args.seed, args.from_pdf)
    for p in made:
        print(p)
    return 0 if made else 1


if __name__ == "__main__":
    sys.exit(main())
