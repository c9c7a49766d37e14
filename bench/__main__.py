"""python -m bench: run the benchmark and print the table (see bench/__init__.py)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench import corpus, llm_cost, report

FORMATS = ("text", "html", "docx", "pdf", "scan")
PDF_PEERS = ("pdfplumber", "pymupdf-find_tables")


def _machine(runs: int) -> dict:
    import pymupdf

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor() or "unknown CPU")
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "pymupdf": pymupdf.VersionBind,
            "load": " ".join(f"{v:.2f}" for v in os.getloadavg()), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "runs": runs}


def _work(what: str, files: list[Path], gold: Path | None, runs: int) -> dict:
    job = {"what": what, "files": [str(f) for f in files], "gold": str(gold) if gold else None, "runs": runs}
    proc = subprocess.run([sys.executable, "-m", "bench.worker"], input=json.dumps(job), capture_output=True,
                          text=True, cwd=corpus.ROOT)
    if proc.returncode:
        raise RuntimeError(f"bench worker {what} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0].split(": ", 1)[1])
    ap.add_argument("--corpus", type=Path, default=Path.home() / ".cache" / "ogi-extract" / "bench-corpus",
                    help="where the rendered corpus is built and kept (default: %(default)s)")
    ap.add_argument("--rebuild", action="store_true", help="render the corpus again")
    ap.add_argument("--runs", type=int, default=3, help="timed passes per set (scans: 1); medians are reported")
    ap.add_argument("--formats", default=",".join(FORMATS), help="comma-separated: " + ", ".join(FORMATS))
    ap.add_argument("--no-peers", action="store_true", help="skip pdfplumber and pymupdf find_tables")
    ap.add_argument("--llm", action="store_true",
                    help="also run eval --engine llm and hybrid on --llm-docs against the configured endpoint")
    ap.add_argument("--llm-docs", type=Path, default=corpus.SHARED / "seeds")
    ap.add_argument("--llm-gold", type=Path, default=corpus.ROOT / "gold")
    ap.add_argument("--llm-from", type=Path, nargs="*", default=[],
                    help="eval --json files (engine llm / hybrid) to take the LLM cost rows from instead")
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument("--markdown", type=Path, help="write the table here")
    args = ap.parse_args(argv)

    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    unknown = set(formats) - set(FORMATS)
    if unknown:
        ap.error(f"unknown format(s): {', '.join(sorted(unknown))}")
    machine = _machine(args.runs)
    rows: list[dict] = []
    for s in corpus.build(args.corpus, formats, args.rebuild):
        if not s.files:
            print(f"bench: {s.name}: skipped ({'; '.join(s.notes)})", file=sys.stderr)
            continue
        runs = s.runs or args.runs
        jobs = ["extract"]
        if s.kind == "pdf":
            jobs.append("floor")
            if not args.no_peers:
                jobs += PDF_PEERS
        floor_ms = None
        for what in jobs:
            print(f"bench: {s.name}: {what} ({len(s.files)} files x {runs})", file=sys.stderr)
            fig = report.figures(_work(what, s.files, None if what == "floor" else s.gold, runs))
            if what == "floor":
                floor_ms = fig["median_ms"]
            engine = {"extract": "ogi-extract", "floor": "floor: pymupdf words"}.get(what, f"peer: {what}")
            rows.append(dict(fig, set=s.name, engine=engine))
        if floor_ms:
            for r in rows:
                if r["set"] == s.name:
                    r["x_floor"] = r["median_ms"] / floor_ms

    llm_rows = llm_cost.from_eval_json(args.llm_from) if args.llm_from else []
    if args.llm:
        llm_rows += llm_cost.live(args.llm_docs, args.llm_gold)
    text = report.markdown(machine, rows, llm_rows, llm_cost.saving(llm_rows))
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "rows": rows, "llm": llm_rows}, ensure_ascii=False,
                                        indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
