"""Worker processes that read files one at a time, each file's fate known to the main process.

Used by batch runs (``batch.run_batch``) and by the API (``extract_isolated``, one upload at a time).
A worker reads the files sent to it in order, so the main process knows which file each is reading:
a file that kills its worker (a segfault in a C library, the out-of-memory killer, ``os._exit``) is
read again alone and fails ``worker_crashed`` if it kills that process too; a worker stuck in one C
call past its file's deadline is killed (the watchdog) and the file fails ``timeout``. Either way
the other files go on.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait as mp_wait
from pathlib import Path

from tqdm import tqdm

from extractor import limits
from extractor.engines.llm import LLMReader
from extractor.errors import TimeLimitExceeded, WorkerCrashed
from extractor.limits import OCR_PAGE_SECONDS, Limits
from extractor.llm.config import LLMConfig
from extractor.pipeline import Result, doc_name, run_file


def llm_config(engine: str, overrides: dict) -> LLMConfig | None:
    """The LLM endpoint an engine would use (None for rules, or when no endpoint is configured)."""
    if engine == "rules":
        return None
    cfg = LLMConfig.from_env(**overrides)
    return cfg if cfg.configured else None


def make_llm(engine: str, **overrides) -> LLMReader | None:
    """The LLM reader for an engine (None for rules, or when no endpoint is configured)."""
    cfg = llm_config(engine, overrides)
    return LLMReader(cfg) if cfg else None


@dataclass
class Job:
    path: Path
    sha256: str  # "" where no store keys the run
    size: int | None


_WORKER: dict = {}


def _setup(engine: str, llm_flags: dict, file_opts: dict) -> None:
    _WORKER.update(engine=engine, llm=make_llm(engine, **llm_flags), opts=file_opts)


def _init_worker(engine: str, llm_flags: dict, file_opts: dict, parent: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _die_with_parent(os.getppid() if parent is None else parent)
    _setup(engine, llm_flags, file_opts)  # each worker builds its own LLM reader (own HTTP client)


def _die_with_parent(parent: int) -> None:
    """A worker whose main process was killed (kill -9) exits instead of waiting forever on its queue."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # PR_SET_PDEATHSIG (Linux)
            if os.getppid() != parent:  # the parent died before the call
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _process(job: Job) -> tuple[Job, str, str | None, str | None]:
    """Extract one file in a worker: (job, the JSON line, Document.text, document kind)."""
    result, doc, _ = run_file(job.path, _WORKER["engine"], _WORKER["llm"], **_WORKER["opts"])
    return job, result.model_dump_json(exclude_none=False), (doc.text if doc else None), (doc.kind if doc else None)


def _failed_line(job: Job, engine: str, code: str, message: str, seconds: float) -> str:
    """A failed result (the shape ``run_file`` gives a file it could not read) for a file the batch pinned."""
    name = job.path.name
    if name not in message:
        message = f"{name}: {message}"
    return Result(file=str(job.path), doc=doc_name(job.path), status="failed", engine=engine,
                  error={"code": code, "message": message},
                  timings={"total_ms": round(seconds * 1000, 2)}).model_dump_json(exclude_none=False)


def _process_safely(job: Job) -> tuple[Job, str, str | None, str | None]:
    """``_process``, with anything that escapes ``run_file`` (a library calling ``sys.exit``) as that file's error."""
    t0 = time.perf_counter()
    try:
        return _process(job)
    except BaseException as e:  # noqa: BLE001 - the worker must go on to the next file
        return job, _failed_line(job, _WORKER["engine"], "internal_error", f"{type(e).__name__}: {e}",
                                 time.perf_counter() - t0), None, None


# The watchdog. A worker publishes, in its slot of a shared array, the monotonic time (CLOCK_MONOTONIC
# is system-wide) by which the file it is reading must be done, and when it started it; +inf while it
# reads none. The time is the file's live deadline from ``limits`` -- which holds the OCR pages'
# allowances and does not run while the file waits on the LLM -- read a few times a second by a thread
# of the worker; before the file's time limit starts it is start + max_seconds, after it ends that
# deadline + max_seconds. The main process kills a worker whose time is more than WATCHDOG_GRACE in the
# past: its file is stuck where neither the deadline checks nor the SIGALRM backstop reach (one long
# C call), and fails ``timeout``.
WATCHDOG_GRACE = OCR_PAGE_SECONDS  # >= one OCR page's allowance: a deadline moved by allow() just before
# a C call that holds the GIL (so the worker's thread could not publish it) still never kills early
_PUBLISH_EVERY = 0.2  # seconds
_IDLE = float("inf")


def _live_deadline(start: float, seen: float | None, max_seconds: float) -> tuple[float, float | None]:
    """(the time to publish, the file's deadline as last seen) -- see the watchdog note above."""
    d = limits.alarmed_deadline()  # the file's Deadline while run_file's time limit is on
    if d is not None and d.active:
        paused_at = d.paused_at
        end = time.monotonic() + (d.end - paused_at) if paused_at is not None else d.end
        return end, end
    return (seen if seen is not None else start) + max_seconds, seen


def _publisher(slots, slot: int, max_seconds: float, lock: threading.Lock, current: dict) -> None:
    while True:
        with lock:
            if current["job"] is not None:
                slots[2 * slot], current["seen"] = _live_deadline(current["start"], current["seen"], max_seconds)
        time.sleep(_PUBLISH_EVERY)


def _worker_main(conn, slots, slot: int, max_seconds: float | None, others: list, engine: str, llm_flags: dict,
                 file_opts: dict, parent: int | None) -> None:
    """A pool worker: ("ready") once set up, then ("done", result) for each job received, in order, until None."""
    for c in others:  # the main process's ends of the other workers' pipes, inherited through fork
        c.close()
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the time limit's backstop, whatever the main process set
    try:
        _init_worker(engine, llm_flags, file_opts, parent)
    except Exception as e:  # noqa: BLE001 - said by the main process, which stops the run
        conn.send(("init_failed", f"{type(e).__name__}: {e}"))
        return
    lock, current = threading.Lock(), {"job": None}
    if max_seconds:
        threading.Thread(target=_publisher, args=(slots, slot, max_seconds, lock, current), daemon=True).start()
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        with lock:
            now = time.monotonic()
            current.update(job=job, start=now, seen=None)
            if max_seconds:
                slots[2 * slot], slots[2 * slot + 1] = now + max_seconds, now
        out = _process_safely(job)
        with lock:
            current["job"] = None
            slots[2 * slot] = _IDLE
        conn.send(("done", out))


@dataclass
class _Worker:
    proc: multiprocessing.Process
    conn: object  # the main process's end of the worker's pipe
    slot: int
    ready: bool = False
    jobs: deque = field(default_factory=deque)  # sent, not done, in order: the first is being read
    alone: bool = False  # its job is a suspect, read alone
    served: int = 0  # jobs done: 0 is a fresh process


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return name + (", killed from outside: often the kernel's out-of-memory killer" if -code == signal.SIGKILL
                       else "")
    return f"exit code {code}"


class _Pool:
    """Worker processes that read the jobs sent to each in order, one at a time, so the main process
    knows which file each is reading: it can kill one that is stuck and tell which file a dead one had."""

    PREFETCH = 2  # jobs in hand per worker while the queue is long: a worker never waits on the main process

    def __init__(self, size: int, engine: str, llm_flags: dict, file_opts: dict, max_seconds: float | None,
                 start_method: str | None = None):
        methods = multiprocessing.get_all_start_methods()
        if start_method not in methods:
            start_method = "fork" if "fork" in methods else "spawn"
        self.ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":  # imported once in the server process, not in every worker
            self.ctx.set_forkserver_preload(["extractor.workers"])
        # a forkserver's worker is the forkserver's child, which dies with this process; it watches that
        self.args = (engine, llm_flags, file_opts, None if start_method == "forkserver" else os.getpid())
        self.max_seconds = max_seconds
        self.slots = self.ctx.RawArray("d", 2 * size)  # per worker: deadline (+inf: idle), start
        self.workers: list[_Worker] = []
        for slot in range(size):
            self.workers.append(self.spawn(slot))

    def spawn(self, slot: int) -> _Worker:
        self.slots[2 * slot] = _IDLE
        mine, theirs = self.ctx.Pipe()
        others = [w.conn for w in self.workers if w.slot != slot]
        proc = self.ctx.Process(target=_worker_main, name=f"ogi-extract-worker-{slot}", daemon=True,
                                args=(theirs, self.slots, slot, self.max_seconds, others, *self.args))
        proc.start()
        theirs.close()
        return _Worker(proc, mine, slot)

    def replace(self, w: _Worker) -> _Worker:
        """Kill ``w`` (if it still runs) and start a fresh worker in its place."""
        self.stop(w, kill=True)
        new = self.spawn(w.slot)
        self.workers[self.workers.index(w)] = new
        return new

    def send(self, w: _Worker, job: Job, alone: bool = False) -> None:
        w.jobs.append(job)
        w.alone = alone
        try:
            w.conn.send(job)
        except OSError:  # it has just died: its sentinel says so next, and its jobs are accounted for then
            pass

    def busy(self) -> list[_Worker]:
        return [w for w in self.workers if w.jobs]

    def overdue(self, w: _Worker, now: float) -> float | None:
        """Seconds ``w`` has been reading its file, when that is past the file's deadline + WATCHDOG_GRACE."""
        if w.jobs and now > self.slots[2 * w.slot] + WATCHDOG_GRACE:
            return now - self.slots[2 * w.slot + 1]
        return None

    def next_check(self, now: float) -> float:
        """Seconds to wait before the watchdog needs to look again (at most half a second)."""
        due = [self.slots[2 * w.slot] + WATCHDOG_GRACE - now for w in self.busy()]
        return max(0.01, min([0.5, *due]))

    @staticmethod
    def stop(w: _Worker, kill: bool = False) -> None:
        """End ``w``: kill it, or (its None already sent) wait briefly for it to exit; then reap it."""
        if kill and w.proc.is_alive():
            w.proc.kill()
        w.proc.join(2)
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join(2)
        w.conn.close()

    def close(self, kill: bool = False) -> None:
        if not kill:
            for w in self.workers:  # all told at once, so they exit together
                try:
                    w.conn.send(None)
                except (OSError, ValueError):
                    pass
        for w in self.workers:
            self.stop(w, kill=kill or bool(w.jobs))


Finish = Callable[[Job, str, "str | None", "str | None"], None]  # job, JSON line, Document.text, kind


def run_in_this_process(todo: list[Job], engine: str, llm_flags: dict, file_opts: dict, finish: Finish) -> int:
    """Read ``todo`` here, unprotected from a crash or a stuck C call (for debugging); return how many
    were left undone (Ctrl-C)."""
    _setup(engine, llm_flags, file_opts)
    for n, job in enumerate(todo):
        try:
            finish(*_process(job))
        except KeyboardInterrupt:
            return len(todo) - n
    return 0


def run_pool(todo: list[Job], workers: int, engine: str, llm_flags: dict, file_opts: dict, finish: Finish,
             on_worker_death: Callable[[], None] | None = None, start_method: str | None = None) -> int:
    """Run ``todo`` on worker processes; return how many were left undone (Ctrl-C, or workers that cannot start).

    A worker that dies takes only the file it was reading (the files sent after it go back to the
    queue): that file is read again alone -- in a fresh process, once every other worker is idle --
    and fails ``worker_crashed`` if it dies again (a file that was not to blame, whose neighbour ate
    the memory, say, gets its normal result). A worker still reading a file WATCHDOG_GRACE past the
    file's deadline is killed and the file fails ``timeout``. Either way the run goes on.
    """
    max_seconds = (file_opts.get("limits") or Limits()).max_seconds
    queue = deque(todo)
    suspects: deque[Job] = deque()  # jobs whose worker died, to be read again alone
    finished = 0
    start_failures = 0  # workers in a row that died before they were ready

    def pinned(job: Job, code: str, message: str, seconds: float) -> tuple:
        return job, _failed_line(job, engine, code, message, seconds), None, None

    def dispatch() -> None:
        if any(w.alone and w.jobs for w in pool.workers):
            return  # a suspect is being read alone
        idle = [w for w in pool.workers if w.ready and not w.jobs]
        if suspects:  # read alone: nothing else runs, and in a process that has read nothing else
            if pool.busy() or not idle:
                return
            fresh = [w for w in idle if w.served == 0]
            if fresh:
                pool.send(fresh[0], suspects.popleft(), alone=True)
            elif all(w.ready for w in pool.workers):
                pool.replace(idle[0])
            return
        ready = [w for w in pool.workers if w.ready]
        for depth in range(1, pool.PREFETCH + 1):
            for w in ready:
                if queue and len(w.jobs) < depth and (depth == 1 or len(queue) > len(ready)):
                    pool.send(w, queue.popleft())

    def lost(w: _Worker, results: list, why: str | None) -> None:
        """``w`` died (``why``) or was killed by the watchdog (None): account for its jobs and replace it."""
        nonlocal start_failures
        now = time.monotonic()
        seconds = pool.overdue(w, now) if why is None else None
        if on_worker_death is not None:
            on_worker_death()
        jobs, alone = list(w.jobs), w.alone
        if not w.ready:
            start_failures += 1
        pool.replace(w)
        if not jobs:
            return
        queue.extendleft(reversed(jobs[1:]))  # sent behind the file being read: not started, not to blame
        job = jobs[0]
        if why is None:
            results.append(pinned(job, TimeLimitExceeded.code,
                                  f"stopped after {seconds:.0f} s, {WATCHDOG_GRACE:g} s past the per-file time limit "
                                  f"(--max-seconds {max_seconds:g}, plus any OCR pages' allowance), stuck in a call "
                                  "that cannot be interrupted: its worker process was killed", seconds))
        elif alone:
            results.append(pinned(job, WorkerCrashed.code,
                                  f"the extractor's process died reading this file ({why}), in the batch and again "
                                  "when the file was read alone", 0.0))
        else:
            suspects.append(job)
            tqdm.write(f"a worker process died ({why}) reading {job.path}; "
                       "it will be read again alone to tell whether it is to blame", file=sys.stderr)

    pool = None
    try:
        pool = _Pool(min(workers, len(todo)), engine, llm_flags, file_opts, max_seconds, start_method)
        while queue or suspects or pool.busy():
            dispatch()
            by_conn = {w.conn: w for w in pool.workers}
            by_sentinel = {w.proc.sentinel: w for w in pool.workers}
            ready = mp_wait([*by_conn, *by_sentinel], timeout=pool.next_check(time.monotonic()))
            results: list[tuple] = []
            stop = None
            seen: set[int] = set()
            for obj in ready:
                w = by_conn.get(obj) or by_sentinel[obj]
                if id(w) in seen:
                    continue
                seen.add(id(w))
                try:
                    while w.conn.poll():  # a dead worker may have sent results before it died: take them first
                        kind, payload = w.conn.recv()
                        if kind == "ready":
                            w.ready, start_failures = True, 0
                        elif kind == "done":
                            results.append(payload)
                            w.jobs.popleft()
                            w.served += 1
                        elif kind == "init_failed":
                            stop = f"a worker process could not start: {payload}"
                except (EOFError, OSError):
                    pass
                if not w.proc.is_alive():
                    w.proc.join(2)
                    lost(w, results, _exit_reason(w.proc.exitcode))
            now = time.monotonic()
            for w in list(pool.workers):
                if pool.overdue(w, now) is not None and not w.conn.poll():
                    lost(w, results, None)
            if start_failures >= 3:
                stop = stop or "worker processes die as they start"
            if stop is None:
                dispatch()  # the next files start before this round's results are stored
            for r in results:
                finish(*r)
                finished += 1
            if stop is not None:
                pool.close(kill=True)
                print(f"{stop}; what finished is stored, re-run to resume", file=sys.stderr)
                return len(todo) - finished
    except KeyboardInterrupt:
        if pool is not None:
            pool.close(kill=True)
        return len(todo) - finished
    except BaseException:
        if pool is not None:
            pool.close(kill=True)
        raise
    pool.close()
    return 0


def extract_isolated(path: Path, *, engine: str = "hybrid", llm_flags: dict | None = None,
                     file_opts: dict | None = None, start_method: str = "forkserver") -> tuple[str, str | None, str | None]:
    """Extract one file in a worker process of its own, as a batch does: (the JSON line,
    Document.text, document kind). A file that kills the process, or is stuck in a call past its
    deadline, fails (``worker_crashed``, ``timeout``) and the caller lives on. For a long-running
    caller with threads (the API server): workers come from a forkserver, a clean single-threaded
    process, never forked from the caller, whose other threads may hold locks at the fork."""
    out: list[tuple] = []
    undone = run_pool([Job(Path(path), "", None)], 1, engine, llm_flags or {}, file_opts or {},
                       lambda job, line, text, kind: out.append((line, text, kind)), start_method=start_method)
    if undone or not out:
        raise RuntimeError("the extraction worker process could not start")
    return out[0]
