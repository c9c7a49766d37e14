"""Per-file limits (pages, bytes, seconds) and the deadline that enforces the time limit.

``Limits`` travels with a file through ``pipeline.run_file``: ``max_bytes`` is checked before a
file is read (and bounds what a DOCX package may unpack to), ``max_pages`` is handed to the PDF
reader, ``max_seconds`` becomes a deadline for the whole file.

The deadline is enforced two ways, both inside ``run_file`` so every caller (the CLI, a batch
worker process, the eval harness, a server thread) gets it:

- cooperatively: the readers' and the rules engine's loops call ``check_deadline()``, which costs
  a clock read; this works in any thread;
- as a backstop, on the main thread of a POSIX process: a ``SIGALRM`` timer fires shortly after
  the deadline (and every half second after that) and stops whatever Python code is running,
  even a loop that never checks, and any C call that returns to the interpreter or checks for
  signals (regular expressions, sleeps, socket waits).

Either way the file ends as ``TimeLimitExceeded`` (code ``timeout``). The stop is raised as a
``BaseException`` subclass until it leaves the time-limited block, so a reader's broad
``except Exception`` (one that turns a parser error into CorruptFile) cannot swallow it.

Time spent waiting on an LLM endpoint does not count (``paused()``): those calls have their own
timeouts, retries and per-report token budget. A page that needs OCR adds ``OCR_PAGE_SECONDS`` to
the deadline (``allow()``), so the default limit bounds a file's parsing, not the length of a scan.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

from extractor.errors import TimeLimitExceeded

DEFAULT_MAX_PAGES = 300
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_SECONDS = 60.0
OCR_PAGE_SECONDS = 15.0  # ~3.5 CPU-s a page on one core, with room for a slow machine

_GRACE = 0.5  # seconds past the deadline before the backstop fires (cooperative checks usually win)
_REPEAT = 0.5  # the backstop fires again this often until the block is left


@dataclass(frozen=True)
class Limits:
    """What one file may cost. ``None`` (or 0) switches a limit off."""

    max_pages: int | None = DEFAULT_MAX_PAGES
    max_bytes: int | None = DEFAULT_MAX_BYTES
    max_seconds: float | None = DEFAULT_MAX_SECONDS

    @property
    def pages(self) -> int:
        return self.max_pages or 10**9

    @property
    def bytes(self) -> int:
        return self.max_bytes or 2**62


class DeadlineExpired(BaseException):
    """Raised inside a time-limited block; becomes ``TimeLimitExceeded`` where the block ends."""


class Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.active = True
        self.paused_at: float | None = None

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def expired(self) -> bool:
        return self.active and self.paused_at is None and time.monotonic() >= self.end

    def check(self) -> None:
        if self.expired():
            raise DeadlineExpired()


_current: ContextVar[Deadline | None] = ContextVar("ogi_deadline", default=None)
_alarmed: Deadline | None = None  # the deadline the SIGALRM backstop serves (main thread only)


def check_deadline() -> None:
    """Stop the file if its time is up; a no-op outside ``time_limit``."""
    d = _current.get()
    if d is not None and d.active and d.paused_at is None and time.monotonic() >= d.end:
        raise DeadlineExpired()


def remaining() -> float | None:
    """Seconds left to the current file (None outside a time limit, or while paused)."""
    d = _current.get()
    if d is None or not d.active or d.paused_at is not None:
        return None
    return max(0.0, d.remaining())


def alarmed_deadline() -> Deadline | None:
    """The deadline of the file the main thread is reading (what the SIGALRM backstop serves), from
    any thread: a batch worker's watchdog publishes it to the main process."""
    return _alarmed


def _on_alarm(signum, frame) -> None:
    d = _alarmed
    if d is not None and d.expired():
        raise DeadlineExpired()


def _can_alarm() -> bool:
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return False
    try:
        current = signal.getsignal(signal.SIGALRM)
    except (ValueError, OSError):
        return False
    # Never take over a SIGALRM someone else installed (a test timeout, an embedding application).
    return current in (signal.SIG_DFL, None, _on_alarm) and signal.getitimer(signal.ITIMER_REAL)[0] == 0


def _arm(d: Deadline) -> None:
    global _alarmed
    _alarmed = d
    if signal.getsignal(signal.SIGALRM) is not _on_alarm:
        signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, d.remaining() + _GRACE), _REPEAT)


def _disarm() -> None:
    global _alarmed
    signal.setitimer(signal.ITIMER_REAL, 0)
    _alarmed = None


@contextmanager
def time_limit(seconds: float | None, what: str = "the file") -> Iterator[Deadline | None]:
    """Run the block under a deadline of ``seconds``; past it, raise ``TimeLimitExceeded``."""
    if not seconds or seconds <= 0 or _current.get() is not None:
        yield _current.get()  # no limit, or already inside one (the outer deadline rules)
        return
    d = Deadline(seconds)
    token = _current.set(d)
    alarm = _can_alarm()
    try:
        try:
            if alarm:
                _arm(d)
            yield d
        finally:
            d.active = False  # from here on a late SIGALRM is ignored
            if alarm:
                _disarm()
    except DeadlineExpired:
        raise TimeLimitExceeded(f"{what}: stopped after {seconds:g} s, the per-file time limit "
                                "(--max-seconds); the file is too large or too complex to read in time") from None
    finally:
        _current.reset(token)


def allow(seconds: float) -> None:
    """Move the current file's deadline ``seconds`` later (a no-op outside ``time_limit``)."""
    d = _current.get()
    if d is None or not d.active:
        return
    d.end += seconds
    if _alarmed is d and d.paused_at is None:
        signal.setitimer(signal.ITIMER_REAL, max(0.01, d.remaining() + _GRACE), _REPEAT)


@contextmanager
def paused() -> Iterator[None]:
    """Stop the clock for the block (waiting on an LLM endpoint); the time is added back to the deadline."""
    d = _current.get()
    if d is None or not d.active or d.paused_at is not None:
        yield
        return
    alarm = _alarmed is d
    if alarm:
        signal.setitimer(signal.ITIMER_REAL, 0)
    d.paused_at = time.monotonic()
    try:
        yield
    finally:
        d.end += time.monotonic() - d.paused_at
        d.paused_at = None
        if alarm and d.active:
            signal.setitimer(signal.ITIMER_REAL, max(0.01, d.remaining() + _GRACE), _REPEAT)
