"""Batch runs: many files, worker processes, a progress bar, results into the run store as they finish.

A file is known by the sha256 of its bytes. Before a run, the store says which hashes are done;
those are skipped (their stored result is still emitted, so ``-o`` always gets one line per file),
unless another engine, LLM model or extractor version produced the stored result: those are
extracted again and replace it (a report a reviewer corrected or approved is kept).
Each finished result is written in its own transaction by the main process (the only writer), so
``kill -9`` at any moment loses at most the files in flight, and a re-run does exactly those.

Files are read in worker processes, ``--workers 1`` included (``workers=0`` reads them in this
process, unprotected: for debugging). A file that kills its worker (a segfault in a C library, the
out-of-memory killer, ``os._exit``) or keeps it in one C call past its deadline costs that file, not
the run: see ``workers.run_pool``. Its failed result (``worker_crashed`` or ``timeout``) is stored like any
other, so a re-run does not read it again unless ``--retry-failed``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from extractor.across import check_across
from extractor.pipeline import doc_name
from extractor.store import Store
from extractor.workers import Job, llm_config, run_in_this_process, run_pool

TOKEN_KEYS = ("calls", "input_tokens", "output_tokens", "cost_usd", "cache_hits")


def _version() -> str:
    try:
        return importlib.metadata.version("ogi-extract")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


VERSION = _version()  # stored with each result: a new version extracts stored files again


def producer(engine: str, llm_flags: dict | None = None) -> dict:
    """What a run's results are produced by: engine, LLM model (None when no LLM is used), version."""
    cfg = llm_config(engine, llm_flags or {})
    return {"engine": engine, "model": cfg.model if cfg else None, "version": VERSION}


def redo_reason(stored: dict, current: dict, retry_failed: bool = False) -> str | None:
    """Why a stored report (``Store.stored``) should be extracted again by a run of ``current``; None: it stands.

    What the store does not know (a result stored before producers were recorded has only its
    engine) counts as unchanged.
    """
    changed = [k for k in current if k in stored["producer"] and stored["producer"][k] != current[k]]
    if changed:
        return " and ".join(changed) + " changed"
    return "failed before" if retry_failed and stored["status"] == "failed" else None


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class RunStats:
    total: int = 0
    skipped: int = 0  # already in the store
    redone: Counter = field(default_factory=Counter)  # stored reports extracted again, by reason
    kept_reviewed: int = 0  # reviewed reports kept although another engine/model/version ran
    duplicates: int = 0  # same bytes as another file of this run
    status: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)  # rules of error flags
    failures: list[str] = field(default_factory=list)
    tokens: dict = field(default_factory=lambda: {k: 0 for k in TOKEN_KEYS})
    not_done: int = 0  # interrupted, or workers could not start: re-run to resume
    worker_deaths: int = 0  # worker processes that died or were killed by the watchdog (and replaced)
    across_flagged: int = 0  # reports with R8 flags after the run
    across_errors: int = 0

    def redo_note(self, verb: str = "re-extracted") -> str | None:
        """'re-extracted 3 stored reports (engine changed)', when any were."""
        if not self.redone:
            return None
        why = ", ".join(r if len(self.redone) == 1 else f"{r} x{c}" for r, c in self.redone.most_common())
        return f"{verb} {sum(self.redone.values())} stored reports ({why})"

    def count_worker_death(self) -> None:
        self.worker_deaths += 1

    def add(self, result: dict) -> None:
        self.status[result["status"]] += 1
        for f in result.get("flags") or []:
            if f.get("severity") == "error":
                self.reasons[f["rule"]] += 1
        if result.get("error"):
            self.failures.append(f"  {result['file']}: {result['error']['code']}: {result['error']['message']}")
        for k in TOKEN_KEYS:
            self.tokens[k] += (result.get("llm") or {}).get(k, 0)


# ---------------------------------------------------------------------- the run

def plan(files: Iterable[Path], show: bool = False) -> list[Job]:
    files = list(files)
    jobs = []
    for p in tqdm(files, disable=not (show and len(files) > 200), unit="file", desc="hashing", file=sys.stderr,
                  leave=False):
        try:
            jobs.append(Job(Path(p), sha256_file(p), Path(p).stat().st_size))
        except OSError:
            # unreadable: still gets a (failed) row, keyed by its path so that it is accounted for
            jobs.append(Job(Path(p), hashlib.sha256(b"unreadable\0" + str(p).encode()).hexdigest(), None))
    return jobs


def _as_file(line: str, job: Job) -> str:
    """A stored/shared result re-labelled with the path it was found at this time."""
    d = json.loads(line)
    if d.get("file") == str(job.path):
        return line
    d["file"], d["doc"] = str(job.path), doc_name(job.path)
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def run_batch(files: list[Path], *, engine: str = "hybrid", store: Store | None = None, workers: int = 1,
              llm_flags: dict | None = None, file_opts: dict | None = None, retry_failed: bool = False,
              emit: Callable[[str], None] | None = None, progress: bool = False) -> RunStats:
    """Extract ``files`` into ``store`` (when given), calling ``emit`` with one JSON line per file."""
    llm_flags, file_opts = llm_flags or {}, file_opts or {}
    stats = RunStats(total=len(files))
    made_by = producer(engine, llm_flags) if store is not None else None
    redo: set[str] = set()  # stored reports extracted again, replacing what is stored
    if store is None:
        jobs = [Job(Path(p), "", None) for p in files]
        todo, later, done = jobs, {}, []
    else:
        jobs = plan(files, show=progress)
        stored = store.stored({j.sha256 for j in jobs})
        redo = _to_redo(stored, made_by, retry_failed, stats)
        known = stored.keys() - redo
        done = [j for j in jobs if j.sha256 in known]
        todo, later = [], {}
        firsts: dict[str, Job] = {}
        for j in jobs:
            if j.sha256 in known:
                continue
            if j.sha256 in firsts:
                later.setdefault(j.sha256, []).append(j)
            else:
                firsts[j.sha256] = j
                todo.append(j)
        _account_skipped(store, done, stats, emit)
        if progress and stats.redone:
            tqdm.write(stats.redo_note("re-extracting"), file=sys.stderr)

    bar = tqdm(total=len(files), initial=len(done), disable=not progress, unit="file", file=sys.stderr,
               dynamic_ncols=True, smoothing=0.1)
    bar.set_postfix(flagged=stats.status["flagged"], failed=stats.status["failed"], refresh=False)

    def finish(job: Job, line: str, text: str | None, kind: str | None) -> None:
        result = json.loads(line)
        dups = later.get(job.sha256, [])
        if store is not None:
            store.put_result(result, job.sha256, text=text, kind=kind, producer=made_by,
                             replace=job.sha256 in redo, paths=[(str(j.path), j.size) for j in [job, *dups]])
        for j in [job, *dups]:
            if emit is not None:
                emit(_as_file(line, j))
            stats.add(result if j is job else {**result, "file": str(j.path)})
        stats.duplicates += len(dups)
        bar.update(1 + len(dups))
        bar.set_postfix(flagged=stats.status["flagged"], failed=stats.status["failed"], refresh=False)

    try:
        if workers <= 0:  # in this process: no protection from a crash or a stuck C call (API only: debugging)
            stats.not_done = run_in_this_process(todo, engine, llm_flags, file_opts, finish)
        elif todo:
            stats.not_done = run_pool(todo, workers, engine, llm_flags, file_opts, finish,
                                      on_worker_death=stats.count_worker_death)
    finally:
        bar.close()
    if store is not None and stats.not_done == 0:
        flags = recompute_across(store)
        stats.across_flagged = len(flags)
        stats.across_errors = sum(1 for fl in flags.values() if any(f["severity"] == "error" for f in fl))
    return stats


def _to_redo(stored: dict[str, dict], current: dict, retry_failed: bool, stats: RunStats) -> set[str]:
    """The stored reports to extract again (counted by reason in ``stats``)."""
    redo = set()
    for sha, row in stored.items():
        why = redo_reason(row, current, retry_failed)
        if why and row["reviewed"]:
            stats.kept_reviewed += 1  # a reviewer's corrections and approval are never overwritten
        elif why:
            redo.add(sha)
            stats.redone[why] += 1
    return redo


def _account_skipped(store: Store, done: list[Job], stats: RunStats, emit) -> None:
    by_sha: dict[str, list[Job]] = {}
    for j in done:
        by_sha.setdefault(j.sha256, []).append(j)
    stats.skipped = len(done)
    for sha, js in by_sha.items():
        store.add_paths(sha, [(str(j.path), j.size) for j in js])
        result = store.stored_result(sha)
        if result is None:
            continue
        line = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        for j in js:
            if emit is not None:
                emit(_as_file(line, j))
        stats.status[result["status"]] += len(js)


def recompute_across(store: Store, organ_keys: Iterable[str] | None = None) -> dict[int, list[dict]]:
    """R8 over the store (or the bodies of ``organ_keys``): store the flags on the later reports."""
    keys = None if organ_keys is None else [k for k in organ_keys if k]
    if keys is not None and not keys:
        return {}
    flags = {rid: [f.model_dump() for f in fl] for rid, fl in check_across(store.summaries(keys)).items()}
    store.set_across(flags, keys)
    return flags
