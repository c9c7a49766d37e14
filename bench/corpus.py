"""The benchmark corpus: what each row of the table is measured on, with the gold that scores it.

Rendered files come from ``tools.fixtures`` (and ``tools.scan``) and are scored against the
rendered copies' gold; the seeds and the published sample PDF against ``gold/``. Building the PDFs
needs LibreOffice; a set that cannot be built is left out with a note, not faked.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@dataclass
class Set:
    name: str  # the table row: format and where the files come from
    kind: str  # text | html | docx | pdf | scan: which floor and peers apply
    files: list[Path]
    gold: Path
    runs: int | None = None  # None: the benchmark's --runs
    notes: list[str] = field(default_factory=list)


def build(out: Path, formats: tuple[str, ...], rebuild: bool = False, seeds: Path | None = None,
          sample_pdf: Path | None = None, gold: Path = ROOT / "gold") -> list[Set]:
    """Build (or reuse) the corpus under ``out``; the sets for ``formats``, in table order."""
    from tools import fixtures, scan

    out = Path(out)
    if rebuild and out.exists():
        shutil.rmtree(out)
    rendered = out / "rendered"
    if not (rendered / "gold").is_dir():
        print(f"bench: rendering the gold files into {rendered} (LibreOffice for the PDFs) ...", file=sys.stderr)
        fixtures.build(rendered, gold, formats=("docx", "html", "txt"), pdf=True)
    scanned = out / "scanned"
    if "scan" in formats and not (scanned / "gold").is_dir():
        print(f"bench: scanning the rendered PDFs into {scanned} ...", file=sys.stderr)
        scan.build(scanned, gold, from_pdf=None)

    seeds = seeds or SHARED / "seeds"
    sample_pdf = sample_pdf or next(iter(sorted((SHARED / "samples").glob("*.pdf"))), None)
    sets: list[Set] = []
    if "text" in formats:
        sets.append(Set("text: seeds as scraped", "text", sorted(seeds.glob("*.txt")), gold))
        sets.append(Set("text: rendered GB18030", "text", sorted(rendered.glob("*.gb18030.txt")), rendered / "gold"))
    if "html" in formats:
        sets.append(Set("html: rendered", "html", sorted(rendered.glob("*.html")), rendered / "gold"))
    if "docx" in formats:
        sets.append(Set("docx: rendered", "docx", sorted(rendered.glob("*.docx")), rendered / "gold"))
    if "pdf" in formats:
        if sample_pdf is not None:
            sets.append(Set("pdf: published sample", "pdf", [sample_pdf], gold))
        pdfs = sorted(p for p in rendered.glob("*.pdf") if not p.name.endswith(".scan.pdf"))
        sets.append(Set("pdf: rendered (LibreOffice)", "pdf", pdfs, rendered / "gold",
                        notes=[] if pdfs else ["no PDFs: LibreOffice is not installed"]))
    if "scan" in formats:
        sets.append(Set("scan: rendered, scanned 200 dpi", "scan", sorted(scanned.glob("*.scan.pdf")),
                        scanned / "gold", runs=1))
    return [s for s in sets if s.files or s.notes]
