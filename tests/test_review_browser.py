"""The review flow in a real browser (headless Chromium driven by Playwright):
open the queue -> open the flagged 2020 seed -> fix a cell -> approve -> the exported gold matches.

Chromium is Debian's (/usr/bin/chromium; browsers cannot be downloaded here, so never
`playwright install`). Without it the test skips, unless OGI_REQUIRE_BROWSER=1 (.ci/run sets it
where Chromium is installed). OGI_UPDATE_SCREENSHOT=1 also writes docs/review.png.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from extractor.batch import sha256_file
from extractor.cli import main
from extractor.pipeline import run_file
from extractor.store import Store, recheck

from conftest import GOLD, ROOT, SEEDS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
T2020 = SEEDS / "zaozhuang_taierzhuang_govoffice_2020.txt"
KEY = "requests.disclosed.total"


def _need(what: str, ok: bool) -> None:
    if not ok:
        if os.environ.get("OGI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{what} is required here (OGI_REQUIRE_BROWSER=1)")
        pytest.skip(f"{what} is not available")


@pytest.fixture
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    _need("playwright (pip)", sync_playwright is not None)
    _need(CHROMIUM, Path(CHROMIUM).exists() or shutil.which("chromium") is not None)
    return sync_playwright


@pytest.fixture
def server(tmp_path, seed_paths):
    """A review server on a free loopback port over a store holding the seeds."""
    import uvicorn

    from extractor.server import ServerConfig, create_app

    db = tmp_path / "runs.sqlite"
    others = [p for p in seed_paths if p != T2020]
    r = CliRunner().invoke(main, ["extract", *map(str, others), "--engine", "rules", "--store", str(db),
                                  "-o", str(tmp_path / "o.jsonl")])
    assert r.exit_code == 0, r.output
    store = Store(db)
    # The 2020 seed as if the engine had misread one cell: 予以公开 总计 printed 9, read as 8. The
    # validator's sums flag it (R1 on the row, R2 on the column) next to the seed's own SHAPE flag.
    result, doc, _ = run_file(T2020, "rules")
    d = json.loads(result.model_dump_json())
    d["fields"][KEY] = 8
    d["flags"] += [f.model_dump() for f in recheck(d["fields"])]
    store.put_result(d, sha256_file(T2020), text=doc.text, kind=doc.kind, paths=[(str(T2020), None)])

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(ServerConfig(store=store, engine="rules")), host="127.0.0.1",
                                        port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}", db
    srv.should_exit = True
    th.join(10)
    store.close()


def test_review_flow_in_chromium(server, sync_playwright, tmp_path):
    base, db = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 950})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))

            # the queue: the 2020 seed first (3 errors: SHAPE, R1, R2); the clean seeds are not in it
            page.goto(f"{base}/review")
            page.wait_for_selector("#queue tbody tr")
            rows = page.locator("#queue tbody tr")
            assert rows.count() == 1
            assert rows.first.get_attribute("data-doc") == "zaozhuang_taierzhuang_govoffice_2020"
            assert rows.first.locator("td.sev").inner_text() == "3"
            page.fill("#reviewer", "Wang Fang")

            # the report: source beside the tables, broken rules on their cells
            rows.first.locator("a.open").click()
            cell = page.locator(f'td.v[data-key="{KEY}"]')
            cell.wait_for()
            assert cell.inner_text() == "8" and "err" in cell.get_attribute("class")
            assert "SHAPE" in page.locator("#flags").inner_text() and "R1" in page.locator("#flags").inner_text()
            assert "err" in page.locator('td.v[data-key="appeals.lawsuit_direct.total"]').get_attribute("class")
            assert "台儿庄区人民政府办公室" in page.locator("#source pre").inner_text()

            # select the cell: its printed span is highlighted in the source, and it says 9
            cell.click()
            assert page.locator("#source mark#hl").inner_text() == "9"
            assert page.locator("#edit-extracted").inner_text() == "8"
            page.locator('#flags li[data-rule="R1"]').click()  # a flag points at its cells
            assert page.locator("td.v.focus").count() >= 7
            cell.click()
            shot = tmp_path / "review.png"
            page.screenshot(path=str(shot))
            if os.environ.get("OGI_UPDATE_SCREENSHOT") == "1":
                (ROOT / "docs").mkdir(exist_ok=True)
                shutil.copy(shot, ROOT / "docs" / "review.png")

            # fix the cell: R1 and R2 go, the cell shows it was corrected
            page.fill("#edit-value", "9")
            page.click("#edit-save")
            page.wait_for_function(
                f"""() => {{ const td = document.querySelector('td.v[data-key="{KEY}"]');
                           return td && td.textContent === '9' && !td.classList.contains('err'); }}""")
            assert "fixed" in cell.get_attribute("class")
            flags_text = page.locator("#flags").inner_text()
            assert "R1" not in flags_text and "R2" not in flags_text and "SHAPE" in flags_text
            assert "Wang Fang" in page.locator("#log").inner_text()

            # approve: the printed row with a value too many makes the source inconsistent (default unticked)
            assert not page.locator("#source-consistent").is_checked()
            page.fill("#notes", "予以公开 总计 checked against the source.")
            page.click("#approve")
            page.wait_for_selector("#queue-view:not([hidden])")
            page.wait_for_selector("#queue-empty:not([hidden])")
            assert not errors, errors
        finally:
            browser.close()

    out = tmp_path / "gold"
    r = CliRunner().invoke(main, ["export-gold", "--store", str(db), "-o", str(out)])
    assert r.exit_code == 0, r.output
    got = json.loads((out / "zaozhuang_taierzhuang_govoffice_2020.json").read_text("utf-8"))
    hand = json.loads((GOLD / "zaozhuang_taierzhuang_govoffice_2020.json").read_text("utf-8"))
    assert got["doc"] == hand["doc"] and got["meta"] == hand["meta"]
    assert got["fields"] == hand["fields"]  # every key of the format, the corrected cell included
    assert got["source_consistent"] is hand["source_consistent"] is False
    assert got["unscored"] == []
    assert "Wang Fang" in got["notes"] and f"{KEY} 8 -> 9" in got["notes"] and "checked against the source" in got["notes"]
    assert sorted(p.name for p in out.iterdir()) == ["zaozhuang_taierzhuang_govoffice_2020.json"]
