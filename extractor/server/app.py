"""The HTTP API and the review page (FastAPI).

Routes outside scripts rely on: ``POST /v1/extract`` (multipart field ``file``) -> one extract JSON
line; ``GET /v1/reports?flagged=true`` -> the flagged queue, most errors first;
``GET /v1/reports/{id}``; ``GET /review``; ``GET /openapi.json``. The review page uses the rest.

Safety: a token (``Authorization: Bearer``, or the cookie that ``/review?token=`` sets) is
required whenever one is configured, and the server refuses to bind beyond loopback without one;
request bodies are capped (``max_upload_bytes``, checked while the body streams in); uploads are
accepted only when their bytes sniff as pdf/docx/doc/html/text/image; a file name carrying a path is
refused.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from extractor.batch import producer, recompute_across
from extractor.workers import extract_isolated
from extractor.contract import field_specs
from extractor.export import default_source_consistent
from extractor.ingest.detect import sniff
from extractor.ingest.image import image_as_pdf
from extractor.pipeline import doc_name
from extractor.store import RECHECKED, Store, StoreError

ALLOWED_KINDS = ("pdf", "docx", "doc", "html", "text", "image")
DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024
_SLACK = 1024 * 1024  # multipart framing on top of the file itself
_COOKIE = "ogi_token"


class ConfigError(ValueError):
    pass


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without a token."""
    if not is_loopback(host) and not token:
        raise ConfigError(f"binding {host} exposes the API beyond this machine: give a token "
                          "(--token or OGI_TOKEN); clients then send 'Authorization: Bearer <token>'")


@dataclass
class ServerConfig:
    store: Store
    engine: str = "hybrid"
    llm_flags: dict = field(default_factory=dict)
    file_opts: dict = field(default_factory=dict)  # e.g. {"limits": Limits(...)} for run_file
    token: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    worker_start: str = "forkserver"  # how upload workers start (see workers.extract_isolated); tests use "fork"


class CorrectionIn(BaseModel):
    key: str
    value: int | float | str | None = None
    reviewer: str


class ApproveIn(BaseModel):
    reviewer: str
    source_consistent: bool | None = None
    notes: str | None = None


def safe_name(name: str | None) -> str:
    """The upload's file name, if it is a plain name; a name carrying a path is refused."""
    name = (name or "").strip() or "upload"
    bad = ("/" in name or "\\" in name or "\x00" in name or name in (".", "..") or len(name) > 255
           or any(ord(ch) < 32 for ch in name))
    if bad:
        raise HTTPException(400, f"file name {name[:80]!r} is not a plain file name (path traversal refused)")
    return name


def create_app(cfg: ServerConfig) -> FastAPI:
    app = FastAPI(title="ogi-extract", version="1", summary="Extract, review and export 政府信息公开工作年度报告 tables.")
    store = cfg.store

    # ------------------------------------------------------------------ middleware (outermost last)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if cfg.token:
            sent = request.headers.get("authorization", "")
            bearer = sent[7:] if sent.lower().startswith("bearer ") else ""
            ok = _same(bearer, cfg.token) or _same(request.cookies.get(_COOKIE, ""), cfg.token)
            if not ok and request.url.path == "/review" and _same(request.query_params.get("token", ""), cfg.token):
                resp = RedirectResponse("/review", status_code=303)
                resp.set_cookie(_COOKIE, cfg.token, httponly=True, samesite="strict")
                return resp
            if not ok:
                return JSONResponse({"detail": "a token is required: Authorization: Bearer <token>"}, status_code=401,
                                    headers={"WWW-Authenticate": "Bearer"})
        resp = await call_next(request)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.url.path.startswith("/review"):
            resp.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
        return resp

    app.add_middleware(BodyLimit, limit=cfg.max_upload_bytes + _SLACK)

    # ------------------------------------------------------------------ API

    @app.post("/v1/extract", summary="Extract one uploaded report (stored too)",
              response_description="The same JSON object as one line of `ogi-extract extract`; "
                                   "the stored report's id is in the X-Report-Id and Location headers.")
    async def extract(file: UploadFile = File(..., description="pdf, docx, doc, html, text or an image of a page; sniffed by content")):
        name = safe_name(file.filename)
        data = await file.read(cfg.max_upload_bytes + 1)
        if len(data) > cfg.max_upload_bytes:
            raise HTTPException(413, f"upload is over the limit of {cfg.max_upload_bytes} bytes")
        kind = sniff(data, Path(name).suffix.lower())
        if kind not in ALLOWED_KINDS:
            raise HTTPException(415, f"{name}: content sniffed as {kind}; accepted: {', '.join(ALLOWED_KINDS)}")
        line, rid = await run_in_threadpool(_extract_upload, name, data)
        return Response(line, media_type="application/json",
                        headers={"X-Report-Id": str(rid), "Location": f"/v1/reports/{rid}"})

    def _extract_upload(name: str, data: bytes) -> tuple[str, int]:
        sha = hashlib.sha256(data).hexdigest()
        stored = store.stored_result(sha)
        if stored is not None and stored["status"] != "failed":
            view = store.get_by_sha(sha)
            stored = {**stored, "file": name, "doc": doc_name(name)}
            return json.dumps(stored, ensure_ascii=False, separators=(",", ":")), view["id"]
        with tempfile.TemporaryDirectory(prefix="ogi-upload-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            # in a worker process: an upload that crashes the reader or hangs in it fails alone
            line, text, kind = extract_isolated(path, engine=cfg.engine, llm_flags=cfg.llm_flags,
                                                file_opts=cfg.file_opts, start_method=cfg.worker_start)
        result = json.loads(line)
        result["file"] = name
        line = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        rid = store.put_result(result, sha, text=text, kind=kind,
                               producer=producer(cfg.engine, cfg.llm_flags),
                               paths=[(f"upload:{sha[:12]}:{name}", len(data))], blob=(name, data))
        recompute_across(store, [store.organ_key_of(rid)])
        return line, rid

    @app.get("/v1/reports", summary="Reports, most errors first; flagged=true gives the review queue")
    def list_reports(flagged: bool | None = Query(None, description="true: only reports with an error flag (R8 too)"),
                     include_approved: bool | None = Query(None, description="default: false for the flagged queue"),
                     status: str | None = Query(None, pattern="^(failed)$"),
                     limit: int = Query(200, ge=1, le=10000), offset: int = Query(0, ge=0)) -> list[dict]:
        inc = include_approved if include_approved is not None else not flagged
        return store.queue(flagged=flagged, include_approved=inc, status=status, limit=limit, offset=offset)

    @app.get("/v1/reports/{report_id}", summary="One report: current values, all flags, live re-checks, review log")
    def get_report(report_id: int) -> dict:
        return _full(report_id)

    def _full(report_id: int) -> dict:
        view = store.get(report_id)
        if view is None:
            raise HTTPException(404, f"no report {report_id}")
        view["checks"] = [f for f in view["flags"] if f.get("rule") in RECHECKED]  # on the current values
        where = {"R8": "across years", **{r: "sums" for r in RECHECKED}}
        view["review_flags"] = [{**f, "source": where.get(f.get("rule"), "extraction")} for f in view["flags"]]
        view["default_source_consistent"] = default_source_consistent(view) if view["extracted_status"] != "failed" else None
        return view

    @app.get("/v1/reports/{report_id}/source", summary="The report's source: normalised text, or PDF page sizes")
    def get_source(report_id: int) -> dict:
        src = store.source(report_id)
        if src is None:
            raise HTTPException(404, f"no report {report_id}")
        out = {"kind": src["kind"], "text": src["text"], "file": src["file"], "pages": []}
        if src["kind"] == "pdf":
            try:
                out["pages"] = [list(s) for s in _page_sizes(_pdf_bytes(src))]
            except FileNotFoundError as e:
                out["missing"] = str(e)
        return out

    @app.get("/v1/reports/{report_id}/pages/{page}", summary="A PDF page as PNG",
             responses={200: {"content": {"image/png": {}}}}, response_class=Response)
    def get_page(report_id: int, page: int, zoom: float = Query(2.0, gt=0.2, le=4.0)) -> Response:
        src = store.source(report_id)
        if src is None:
            raise HTTPException(404, f"no report {report_id}")
        if src["kind"] != "pdf":
            raise HTTPException(400, "not a PDF report")
        try:
            png = _render(src, page, round(zoom, 2))
        except FileNotFoundError as e:
            raise HTTPException(404, str(e)) from None
        except IndexError:
            raise HTTPException(404, f"no page {page}") from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    @app.post("/v1/reports/{report_id}/corrections", summary="Correct one value (stored with time and reviewer)")
    def correct(report_id: int, body: CorrectionIn) -> dict:
        try:
            store.correct(report_id, body.key, body.value, body.reviewer)
        except StoreError as e:
            raise HTTPException(404 if "no report" in str(e) else 400, str(e)) from None
        if body.key.startswith("requests.") or body.key.startswith("active.") or body.key.startswith("meta."):
            recompute_across(store, [store.organ_key_of(report_id)])
        return _full(report_id)

    @app.post("/v1/reports/{report_id}/approve", summary="Approve a report (it then leaves the queue)")
    def approve(report_id: int, body: ApproveIn) -> dict:
        try:
            store.approve(report_id, body.reviewer, body.source_consistent, body.notes)
        except StoreError as e:
            raise HTTPException(404 if "no report" in str(e) else 400, str(e)) from None
        return _full(report_id)

    @app.get("/v1/contract", summary="Contract keys with labels, formats and types (fields.json order)")
    def contract() -> list[dict]:
        return [f.model_dump() for f in field_specs()]

    # ------------------------------------------------------------------ the review page

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/review")

    @app.get("/review", response_class=HTMLResponse, summary="The review page")
    def review_page() -> HTMLResponse:
        return HTMLResponse(_asset("review.html"))

    @app.get("/review/app.js", include_in_schema=False)
    def review_js() -> Response:
        return Response(_asset("review.js"), media_type="text/javascript; charset=utf-8")

    @app.get("/review/app.css", include_in_schema=False)
    def review_css() -> Response:
        return Response(_asset("review.css"), media_type="text/css; charset=utf-8")

    return app


def _same(a: str, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    return resources.files("extractor.server").joinpath("static", name).read_text("utf-8")


def _pdf_bytes(src: dict) -> bytes:
    data = src["data"]
    if data is None:
        path = Path(src["file"])
        if not path.is_file():
            raise FileNotFoundError(f"the source file {src['file']} is no longer there")
        data = path.read_bytes()
    if sniff(data) == "image":  # read as the PDF it was converted to: the boxes are on its pages
        data = image_as_pdf(data, Path(src["file"]).name)
    return data


def _page_sizes(data: bytes) -> list[tuple[float, float]]:
    import pymupdf as fitz

    with fitz.open(stream=data, filetype="pdf") as pdf:
        return [(p.rect.width, p.rect.height) for p in pdf]


_PAGES: OrderedDict[tuple, bytes] = OrderedDict()
_PAGES_LOCK = threading.Lock()


def _render(src: dict, page: int, zoom: float) -> bytes:
    """A page as PNG (pymupdf ``page.get_pixmap``); the last 64 renders are kept."""
    import pymupdf as fitz

    key = (src["sha256"], page, zoom)
    with _PAGES_LOCK:
        if key in _PAGES:
            _PAGES.move_to_end(key)
            return _PAGES[key]
    with fitz.open(stream=_pdf_bytes(src), filetype="pdf") as pdf:
        if not 1 <= page <= pdf.page_count:
            raise IndexError(page)
        png = pdf[page - 1].get_pixmap(matrix=fitz.Matrix(zoom, zoom), alpha=False).tobytes("png")
    with _PAGES_LOCK:
        _PAGES[key] = png
        while len(_PAGES) > 64:
            _PAGES.popitem(last=False)
    return png


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Caps a request body, whether or not it says its length: 413 as soon as it runs over."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await _send_413(send, self.limit)
        seen = 0
        over = False
        started = False

        async def limited():
            nonlocal seen, over
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise _TooLarge()
            return msg

        async def guarded_send(msg):
            nonlocal started
            if over:
                return  # the app's own error reply is replaced by the 413 below
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, limited, guarded_send)
        except BaseException:  # the overrun may come back wrapped (task groups); anything else is re-raised
            if not over:
                raise
        if over and not started:
            await _send_413(send, self.limit)


async def _send_413(send, limit: int) -> None:
    body = json.dumps({"detail": f"request body is over the limit of {limit} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
