"""One file in, one result out: ingest -> sections -> read -> validate.

``extract_file`` never raises for a bad document: the result says what went wrong.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from extractor.document import Document, Location
from extractor.errors import ExtractError, NotAReport
from extractor.flags import Flag, has_error
from extractor.ingest import SUPPORTED_SUFFIXES, read_document
from extractor.engines.hybrid import ENGINES, read_document_with
from extractor.engines.llm import LLMReader
from extractor.limits import Limits, check_deadline, time_limit
from extractor.read.base import Reading
from extractor.validate import validate


class Result(BaseModel):
    """One line of ``extract`` output."""

    file: str
    doc: str
    status: Literal["ok", "flagged", "failed"]
    meta: dict = Field(default_factory=dict)
    fields: dict = Field(default_factory=dict)
    provenance: dict[str, dict] = Field(default_factory=dict)
    flags: list[Flag] = Field(default_factory=list)
    engine: str = "rules"
    timings: dict[str, float] = Field(default_factory=dict)
    error: dict | None = None  # {"code", "message"} when status is failed
    llm: dict = Field(default_factory=lambda: {"calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0})

    @property
    def errors(self) -> list[Flag]:
        return [f for f in self.flags if f.severity == "error"]


def doc_name(path: str | Path) -> str:
    """A document's name for pairing with gold: the file name up to its first dot."""
    return Path(path).name.split(".", 1)[0]


def extract_file(path: str | Path, engine: str = "hybrid", llm: LLMReader | None = None,
                 limits: Limits | None = None) -> Result:
    return run_file(path, engine, llm, limits)[0]


def run_file(path: str | Path, engine: str = "hybrid", llm: LLMReader | None = None, limits: Limits | None = None
             ) -> tuple[Result, Document | None, Reading | None]:
    """Extract one file; also hand back the Document and Reading for callers that check further.

    ``limits`` (default ``Limits()``: 300 pages, 200 MB, 60 s) bound what the file may cost; a
    file over a limit fails with ``too_large`` or ``timeout``. The time limit runs here, so every
    caller of ``run_file`` (CLI, batch workers, eval) gets it.
    """
    path = Path(path)
    limits = limits or Limits()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        with time_limit(limits.max_seconds, path.name):
            doc = read_document(path, limits)
            t1 = time.perf_counter()
            timings["ingest_ms"] = round((t1 - t0) * 1000, 2)
            reading, usage = read_document_with(engine, doc, llm)
            if reading.unread >= {"active", "requests", "appeals"}:
                raise NotAReport(f"{path.name}: none of the three statistical tables (二, 三, 四) was found; "
                                 "this does not look like a 政府信息公开工作年度报告" + _format_hint(path, doc))
            check_deadline()
            t2 = time.perf_counter()
            timings["read_ms"] = round((t2 - t1) * 1000, 2)
            flags = reading.flags + validate(reading, doc)
            timings["validate_ms"] = round((time.perf_counter() - t2) * 1000, 2)
    except ExtractError as e:
        return _failed(path, engine, e.code, str(e), t0), None, None
    except Exception as e:  # a reader bug must not take the batch down; say so plainly
        return _failed(path, engine, "internal_error", f"{type(e).__name__}: {e}", t0), None, None
    timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 2)
    result = Result(
        file=str(path),
        doc=doc_name(path),
        status="flagged" if has_error(flags) else "ok",
        meta=reading.meta.model_dump(),
        fields=reading.fields,
        provenance={k: _loc(v) for k, v in reading.provenance.items()},
        flags=flags,
        engine=engine,
        timings=timings,
        llm=usage.as_dict(),
    )
    return result, doc, reading


def _format_hint(path: Path, doc: Document) -> str:
    """Why a file named like one format may have held something else (an error page saved as .pdf)."""
    named = path.suffix.lower().lstrip(".")
    if doc.kind in ("html", "text") and named in ("pdf", "doc", "docx", "wps"):
        head = " ".join(" ".join(r.text[:80].split()) for r in doc.rows[:3])[:80]
        what = "an HTML page" if doc.kind == "html" else "plain text"
        return f" (named .{named} but it is {what}: an error page or a failed download? it begins 「{head}」)"
    longest = max((len(c.text) for r in doc.rows for c in r.cells), default=0)
    if longest > 100_000 and len(doc.rows) < 100:
        return (f" (the text is {len(doc.rows)} line(s), one of {longest:,} characters: line breaks were lost, "
                "so no table row can be told apart)")
    return ""


def _loc(loc: Location) -> dict:
    # Location.model_dump(exclude_none=True), written out: a location holds no nested record, and a
    # report has a few hundred of them (about 4% of an HTML report's time)
    return {f: v for f in _LOCATION_FIELDS if (v := getattr(loc, f)) is not None}


_LOCATION_FIELDS = Location.__slots__


def _failed(path: Path, engine: str, code: str, message: str, t0: float) -> Result:
    if path.name not in message:
        message = f"{path.name}: {message}"
    return Result(file=str(path), doc=doc_name(path), status="failed", engine=engine,
                  error={"code": code, "message": message},
                  timings={"total_ms": round((time.perf_counter() - t0) * 1000, 2)})


def find_documents(paths: list[str | Path]) -> list[Path]:
    """Files named directly, plus every supported file under named folders (sorted, recursive)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in SUPPORTED_SUFFIXES
                          and not q.name.startswith("."))
        else:
            out.append(p)
    return out
