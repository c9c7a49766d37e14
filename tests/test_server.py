"""The HTTP API: extract uploads, the queue, reports, corrections, approval, PDF pages, and its limits."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from extractor.cli import main  # noqa: E402
from extractor.pipeline import run_file  # noqa: E402
from extractor.server import ConfigError, ServerConfig, check_bind, create_app  # noqa: E402
from extractor.server.app import safe_name  # noqa: E402
from fastapi import HTTPException  # noqa: E402
from extractor.store import Store  # noqa: E402

from conftest import SEEDS  # noqa: E402

T2020 = SEEDS / "zaozhuang_taierzhuang_govoffice_2020.txt"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "runs.sqlite")
    yield s
    s.close()


def client(store, **kw) -> TestClient:
    return TestClient(create_app(ServerConfig(store=store, engine="rules", **kw)))


def upload(c: TestClient, path, name=None, **kw):
    return c.post("/v1/extract", files={"file": (name or path.name, path.read_bytes(), "text/plain")}, **kw)


def test_extract_returns_one_extract_line_and_stores_it(store, seed_paths):
    c = client(store)
    r = upload(c, T2020)
    assert r.status_code == 200, r.text
    got = r.json()
    want = json.loads(run_file(T2020, "rules")[0].model_dump_json())
    assert list(got) == list(want)  # the same object, key for key
    for k in want:
        if k not in ("timings", "file"):
            assert got[k] == want[k], k
    assert got["file"] == T2020.name and got["doc"] == "zaozhuang_taierzhuang_govoffice_2020"
    rid = int(r.headers["x-report-id"])
    assert r.headers["location"] == f"/v1/reports/{rid}"
    view = c.get(f"/v1/reports/{rid}").json()
    assert view["fields"] == want["fields"] and view["status"] == "flagged"
    assert {f["rule"] for f in view["review_flags"] if f["severity"] == "error"} == {"SHAPE"}
    src = c.get(f"/v1/reports/{rid}/source").json()
    loc = view["provenance"]["requests.disclosed.total"]
    assert src["kind"] == "text" and src["text"][loc["start"]:loc["end"]] == "9"
    # the same bytes again: the stored report, not a second one
    r2 = upload(c, T2020, name="again.txt")
    assert r2.headers["x-report-id"] == str(rid) and r2.json()["doc"] == "again" and store.count() == 1


def test_queue_is_sorted_by_errors_and_review_round_trip(store, seed_paths):
    c = client(store)
    ids = {p.stem: int(upload(c, p).headers["x-report-id"]) for p in seed_paths}
    q = c.get("/v1/reports", params={"flagged": "true"}).json()
    assert [x["doc"] for x in q] == ["zaozhuang_taierzhuang_govoffice_2020"] and q[0]["error_count"] == 1
    assert len(c.get("/v1/reports").json()) == len(seed_paths)
    rid = ids["zibo_yiyuan_2023"]
    r = c.post(f"/v1/reports/{rid}/corrections", json={"key": "requests.disclosed.total", "value": "0", "reviewer": "ann"})
    assert r.status_code == 200
    view = r.json()
    assert {f["rule"] for f in view["checks"]} == {"R1", "R2"} and view["default_source_consistent"] is False
    q = c.get("/v1/reports", params={"flagged": "true"}).json()
    assert q[0]["id"] == rid and q[0]["error_count"] == 2  # the corrected values break R1 and R2: now worst
    bad = c.post(f"/v1/reports/{rid}/corrections", json={"key": "active.regulations.made", "value": 1, "reviewer": "ann"})
    assert bad.status_code == 400 and "not a key" in bad.json()["detail"]
    assert c.post("/v1/reports/999/corrections", json={"key": "x", "value": 1, "reviewer": "ann"}).status_code == 404
    assert c.post(f"/v1/reports/{rid}/approve", json={"reviewer": ""}).status_code == 400
    r = c.post(f"/v1/reports/{rid}/approve", json={"reviewer": "ann", "source_consistent": False})
    assert r.json()["review"]["status"] == "approved" and [x["action"] for x in r.json()["log"]] == ["correct", "approve"]
    assert rid not in [x["id"] for x in c.get("/v1/reports", params={"flagged": "true"}).json()]
    assert c.get("/v1/reports/12345").status_code == 404


@pytest.mark.shared
def test_upload_limits(store, tmp_path):
    c = client(store, max_upload_bytes=4000)
    r = upload(c, T2020)  # 7.5 kB
    assert r.status_code == 413
    # a body that does not say its length is cut off as it streams in
    def chunks():
        for _ in range(100):
            yield b"x" * 100_000

    r = c.post("/v1/extract", content=chunks(), headers={"content-type": "multipart/form-data; boundary=zz"})
    assert r.status_code == 413
    c = client(store)
    for name, data in [("a.zip", b"PK\x03\x04" + b"\x00" * 50),
                       ("a.bin", bytes(range(256)) * 4), ("a.gz", b"\x1f\x8b" + b"\x00" * 40)]:
        r = c.post("/v1/extract", files={"file": (name, data)})
        assert r.status_code == 415, (name, r.text)
    for name in ["../evil.txt", "..", "a/b.txt", "..\\x.txt", "/etc/passwd", "../../etc/cron.d/x"]:
        r = c.post("/v1/extract", files={"file": (name, b"hello")})
        assert r.status_code == 400 and "path traversal" in r.text, name
    for name in ["a\x00.txt", "a\nb.txt", "x" * 300]:
        with pytest.raises(HTTPException):
            safe_name(name)
    assert safe_name("报告 2023..final.pdf") == "报告 2023..final.pdf"
    html = b"<html><body><p>not a report</p></body></html>"
    r = c.post("/v1/extract", files={"file": ("page.html", html)})
    assert r.status_code == 200 and r.json()["status"] == "failed"  # accepted type; the result says why


def test_a_token_guards_every_route(store):
    c = client(store, token="s3cret")
    assert c.get("/v1/reports").status_code == 401
    assert c.get("/openapi.json").status_code == 401
    assert c.get("/v1/reports", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert c.get("/v1/reports", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    r = c.get("/review?token=s3cret", follow_redirects=False)
    assert r.status_code == 303 and "ogi_token" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
    assert c.get("/review").status_code == 200  # the cookie now carries it
    assert c.get("/v1/reports").status_code == 200


def test_binding_beyond_loopback_needs_a_token(tmp_path):
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("localhost", None)
    check_bind("0.0.0.0", "t")
    for host in ("0.0.0.0", "192.168.1.5", "::"):
        with pytest.raises(ConfigError):
            check_bind(host, None)
    r = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--store", str(tmp_path / "s.sqlite")], env={"OGI_TOKEN": ""})
    assert r.exit_code == 2 and "token" in r.output


def test_pdf_pages_render_for_the_review_page(store):
    pymupdf = pytest.importorskip("pymupdf")
    pdf = pymupdf.open()
    page = pdf.new_page(width=300, height=200)
    page.insert_text((40, 60), "12 34", fontsize=14)
    data = pdf.tobytes()
    result = {"file": "tiny.pdf", "doc": "tiny", "status": "ok", "meta": {"format": "2021"}, "fields": {},
              "flags": [], "provenance": {}}
    rid = store.put_result(result, "b" * 64, text="12 34", kind="pdf", blob=("tiny.pdf", data))
    c = client(store)
    src = c.get(f"/v1/reports/{rid}/source").json()
    assert src["kind"] == "pdf" and src["pages"] == [[300.0, 200.0]]
    png = c.get(f"/v1/reports/{rid}/pages/1", params={"zoom": 2})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert c.get(f"/v1/reports/{rid}/pages/2").status_code == 404
    assert c.get(f"/v1/reports/{rid}/pages/1", params={"zoom": 50}).status_code == 422


def test_openapi_and_review_page(store):
    c = client(store)
    paths = c.get("/openapi.json").json()["paths"]
    assert {"/v1/extract", "/v1/reports", "/v1/reports/{report_id}", "/review"} <= set(paths)
    assert "multipart/form-data" in paths["/v1/extract"]["post"]["requestBody"]["content"]
    r = c.get("/review")
    assert r.status_code == 200 and "review" in r.text and "script-src" not in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert c.get("/review/app.js").headers["content-type"].startswith("text/javascript")
    assert c.get("/").status_code == 200  # redirects to the page


def test_an_upload_that_kills_the_reader_fails_alone_and_the_server_goes_on(store, tmp_path, monkeypatch, seed_paths):
    """Uploads are read in a worker process (batch.extract_isolated): a file that segfaults the reader
    is answered as a failed result (worker_crashed) and stored so; the next upload is read as usual."""
    from test_batch import _attempts, _hook, _segfault

    log = _hook(monkeypatch, tmp_path, {"boom.txt": _segfault})
    c = client(store, worker_start="fork")  # fork: the worker sees this test's hook (forkserver is the default)
    r = c.post("/v1/extract", files={"file": ("boom.txt", T2020.read_bytes() + b"\n", "text/plain")})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "failed" and got["error"]["code"] == "worker_crashed"
    assert "(SIGSEGV)" in got["error"]["message"] and got["file"] == "boom.txt"
    assert _attempts(log) == ["boom.txt", "boom.txt"]  # read again alone before it is blamed
    assert c.get(f"/v1/reports/{r.headers['x-report-id']}").json()["extracted_status"] == "failed"
    ok = upload(c, T2020)
    assert ok.status_code == 200 and ok.json()["status"] == "flagged"
