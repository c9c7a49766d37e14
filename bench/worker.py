"""Time one kind of work over a list of files, in a fresh process, and report its peak RSS.

    echo '{"what": "extract", "files": [...], "gold": DIR, "runs": 3}' | python -m bench.worker

``what`` is ``extract`` (ogi-extract end to end: ingest, read, validate, with the default hybrid
engine and no endpoint), ``floor`` (pymupdf opens the PDF and takes every page's words, no
parsing) or a peer from ``bench.peers``. One untimed warm-up of the first file comes first
(imports and model loading are a once-per-process cost, not a per-report one); then every file
is timed ``runs`` times, wall clock and process CPU time (all threads). The peak RSS is the
process's high-water mark (``VmHWM``; not ``ru_maxrss``, which a child inherits from the parent
that forked it), so it bounds the cost of any single report in it.
Accuracy is scored on the last run against the gold folder, as ``eval`` does.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def _peak_rss_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: the best there is


def _floor(path: Path) -> tuple[None, int]:
    import pymupdf

    with pymupdf.open(path) as pdf:
        for page in pdf:
            page.get_text("words")
        return None, pdf.page_count


def _extract(path: Path):
    from extractor.limits import Limits
    from extractor.pipeline import run_file

    result, doc, _ = run_file(path, "hybrid", None, Limits(max_seconds=None))
    return result, doc.pages if doc is not None else 0


def _peer(name: str):
    from bench.peers import PEERS
    from extractor.flags import has_error
    from extractor.pipeline import Result, doc_name
    from extractor.read.rules import read_rules
    from extractor.validate import validate

    def run(path: Path):
        doc = PEERS[name](path)
        reading = read_rules(doc)
        flags = reading.flags + validate(reading, doc)
        return Result(file=str(path), doc=doc_name(path), status="flagged" if has_error(flags) else "ok",
                      meta=reading.meta.model_dump(), fields=reading.fields, flags=flags, engine=name), doc.pages
    return run


def run(job: dict) -> dict:
    what, files, runs = job["what"], [Path(f) for f in job["files"]], int(job.get("runs", 3))
    rss_start = _peak_rss_kb()
    work = {"extract": _extract, "floor": _floor}.get(what) or _peer(what)
    work(files[0])  # warm-up
    rss_warm = _peak_rss_kb()
    wall: list[list[float]] = []  # [run][file] ms
    cpu: list[list[float]] = []
    pages: list[int] = []
    results = []
    for r in range(runs):
        wall_r, cpu_r = [], []
        for path in files:
            c0, t0 = time.process_time(), time.perf_counter()
            result, n_pages = work(path)
            wall_r.append((time.perf_counter() - t0) * 1000)
            cpu_r.append((time.process_time() - c0) * 1000)
            if r == runs - 1:
                pages.append(n_pages)
                results.append(result)
        wall.append(wall_r)
        cpu.append(cpu_r)
    out = {"what": what, "files": [str(f) for f in files], "runs": runs, "wall_ms": wall, "cpu_ms": cpu,
           "pages": pages, "rss_start_kb": rss_start, "rss_warm_kb": rss_warm,
           # VmHWM is kept from per-thread counters that sync lazily, so a later read can come out a
           # few pages below an earlier one; a high-water mark never falls, so take the largest seen
           "rss_peak_kb": max(_peak_rss_kb(), rss_warm, rss_start)}
    if job.get("gold") and results[0] is not None:
        out["scores"] = _scores(results, Path(job["gold"]))
    return out


def _scores(results, gold_dir: Path) -> list[dict]:
    from eval.harness import load_gold, score_report

    gold = load_gold(gold_dir)
    out = []
    for result in results:
        if result.doc not in gold:
            continue
        rep = score_report(gold[result.doc], result)
        out.append({k: rep[k] for k in ("doc", "scored", "correct", "flagged", "needs_review", "status")})
    return out


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
