"""The LLM engine against a real local model: llama.cpp's llama-server with Qwen2.5-Coder 0.5B.

Runs when LLAMA_SERVER and LLAMA_MODEL point at a built server and a GGUF model
(`eval "$(tools/llama_setup.sh 0.5b)"`; .ci/run does this). Skipped otherwise.
"""

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from extractor.engines.llm import LLMReader
from extractor.llm.config import LLMConfig
from extractor.ingest import read_document
from extractor.llm.transport import Usage
from extractor.read.rules import read_rules
from extractor.validate import validate

from conftest import SEEDS

SERVER = os.environ.get("LLAMA_SERVER")
MODEL = os.environ.get("LLAMA_MODEL")

pytestmark = pytest.mark.skipif(not (SERVER and MODEL and Path(SERVER).exists() and Path(MODEL).exists()),
                                reason="no local llama-server/model (run tools/llama_setup.sh)")


@pytest.fixture(scope="module")
def llama_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([SERVER, "-m", MODEL, "--host", "127.0.0.1", "--port", str(port), "-t", "2", "-c", "8192",
                             "--jinja"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("llama-server did not become healthy in 120 s")
        yield url + "/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_real_model_reads_one_section_end_to_end(llama_url, tmp_path):
    cfg = LLMConfig(base_url=llama_url, api_key="local", model="qwen2.5-coder-0.5b", timeout=300, max_tokens=512,
                    max_reasks=0, retries=1, cache_dir=str(tmp_path / "cache"))
    path = SEEDS / "zibo_yiyuan_2023.txt"
    doc = read_document(path)
    reading = read_rules(doc)
    usage = Usage()
    LLMReader(cfg).read_sections(doc, reading, ["appeals"], usage)  # one section, straight to the model
    assert usage.calls >= 1 and usage.input_tokens > 0 and usage.output_tokens > 0
    flags = reading.flags + validate(reading, doc)
    result = type("R", (), {"fields": reading.fields, "provenance": reading.provenance, "flags": flags})
    appeals = {k: v for k, v in result.fields.items() if k.startswith("appeals.")}
    assert len(appeals) == 15  # schema-valid answer mapped onto the contract
    # the validator ran on whatever the model said: every value is grounded or flagged
    grounded = set(result.provenance)
    for key, value in appeals.items():
        if value is not None and key not in grounded:
            assert any(key in f.keys and f.severity == "error" for f in result.flags), key
    # a re-run is served from the cache
    again = Usage()
    LLMReader(cfg).read_sections(doc, read_rules(doc), ["appeals"], again)
    assert again.calls == 0 and again.cache_hits >= 1
