"""The ``ogi-extract`` command line: a thin edge over the pipeline and the eval harness."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from extractor.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_PAGES, DEFAULT_MAX_SECONDS, Limits
from extractor.batch import run_batch
from extractor.workers import make_llm
from extractor.export import FORMATS as EXPORT_FORMATS, export, write_gold
from extractor.pipeline import ENGINES, find_documents
from extractor.store import Store


def llm_options(f):
    """Flags for the LLM endpoint; each defaults to its environment variable."""
    options = [
        click.option("--base-url", help="OpenAI-compatible endpoint [env OPENAI_BASE_URL]; key from OPENAI_API_KEY."),
        click.option("--model", help="Model name [env OGI_MODEL, default gpt-4o-mini]."),
        click.option("--temperature", type=float, help="[env OGI_TEMPERATURE, default 0]"),
        click.option("--max-tokens", type=int, help="Max output tokens per call [env OGI_MAX_TOKENS, default 2048]."),
        click.option("--timeout", type=float, help="Seconds per call [env OGI_TIMEOUT, default 120]."),
        click.option("--llm-mode", "mode", type=click.Choice(["json_schema", "json", "md_json"]),
                     help="Structured-output mode [env OGI_LLM_MODE, default json_schema]."),
        click.option("--token-budget", type=int, help="Max tokens per report [env OGI_TOKEN_BUDGET, default 40000]."),
        click.option("--cache-dir", help="LLM response cache [env OGI_CACHE_DIR, default ~/.cache/ogi-extract/llm]."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _size(text: str) -> int:
    """'200000000', '200M', '200MB', '1.5G' -> bytes."""
    t = str(text).strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(t[-1:], 1)
    try:
        return int(float(t[:-1] if mult > 1 else t) * mult)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size (e.g. 200M, 1G, 5000000)") from None


def limit_options(f):
    """Per-file limits: a file over one fails with too_large / timeout; the rest of the batch goes on."""
    options = [
        click.option("--max-pages", type=int, default=DEFAULT_MAX_PAGES, show_default=True,
                     help="A PDF with more pages fails as too_large (0: no limit)."),
        click.option("--max-bytes", type=str, default=str(DEFAULT_MAX_BYTES // 1024**2) + "M", show_default=True,
                     help="A file (or what a DOCX unpacks to) over this size fails as too_large; 200M, 1G, bytes (0: no limit)."),
        click.option("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, show_default=True,
                     help="A file still being read after this long is stopped and fails as timeout; "
                          "time waiting on the LLM does not count, and each page that needs OCR adds 15 s (0: no limit)."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def make_limits(max_pages: int, max_bytes: str, max_seconds: float) -> Limits:
    return Limits(max_pages=max_pages or None, max_bytes=_size(max_bytes) or None, max_seconds=max_seconds or None)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Extract the statistical tables of 政府信息公开工作年度报告 into checked, traceable data.

    \b
    ogi-extract extract reports/ -o out.jsonl     read every report under reports/
    ogi-extract eval --docs reports/ --gold gold/ score against hand-labelled gold files
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write JSON lines here instead of stdout.")
@click.option("--engine", type=click.Choice(ENGINES), default="hybrid", show_default=True,
              help="rules: template reader only; llm: LLM for every table; hybrid: rules, LLM only where rules fail.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal).")
@click.option("--store", "store_target", envvar="OGI_STORE", metavar="PATH_OR_URL",
              help="Run store: a SQLite file path, or postgresql://user:pass@host/db [env OGI_STORE]. Results are "
                   "written as they finish, keyed by the file's sha256; a re-run skips what is stored, unless "
                   "another engine, LLM model or extractor version produced it (then it is extracted again).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (each builds its own LLM client).")
@click.option("--retry-failed", is_flag=True, help="With --store: extract again the files whose stored result failed.")
@limit_options
@llm_options
def extract(paths: tuple[str, ...], output: str | None, engine: str, progress: bool | None,
            store_target: str | None, workers: int, retry_failed: bool,
            max_pages: int, max_bytes: str, max_seconds: float, **llm_flags) -> None:
    """Extract PATHS (files or folders, searched recursively) to one JSON line per report.

    Each line holds file, doc, status, meta, fields (contract keys), provenance (where each value
    is printed), flags (rule, severity, keys, message), engine and timings. A file that cannot be
    read gets status "failed" with an error code and message; the others still come out.
    A summary goes to stderr.
    """
    files = find_documents(list(paths))
    if not files:
        raise click.UsageError("no supported documents found under the given paths")
    limits = make_limits(max_pages, max_bytes, max_seconds)
    show = sys.stderr.isatty() if progress is None else progress
    store = _open_store(store_target) if store_target else None
    out = open(output, "w", encoding="utf-8") if output else sys.stdout

    def emit(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    try:
        stats = run_batch(files, engine=engine, store=store, workers=workers, llm_flags=llm_flags,
                          file_opts={"limits": limits}, retry_failed=retry_failed, emit=emit, progress=show)
    finally:
        if output:
            out.close()
        if store is not None:
            store.close()
    status, tokens = stats.status, stats.tokens
    n = len(files)
    click.echo(f"{n} reports read: {status['ok']} ok, {status['flagged']} flagged, {status['failed']} failed"
               + (f" ({stats.skipped} already in the store)" if stats.skipped else ""), err=True)
    if note := stats.redo_note():
        click.echo(note, err=True)
    if stats.kept_reviewed:
        click.echo(f"kept {stats.kept_reviewed} reviewed reports as stored (another engine, model or version ran; "
                   "corrections and approvals are never overwritten)", err=True)
    if tokens["calls"] or tokens["cache_hits"]:
        click.echo(f"llm: {tokens['calls']} calls, {tokens['input_tokens']} in / {tokens['output_tokens']} out tokens, "
                   f"${tokens['cost_usd']:.4f}, {tokens['cache_hits']} cached", err=True)
    if stats.reasons:
        click.echo("flagged for: " + ", ".join(f"{r} x{c}" for r, c in stats.reasons.most_common()), err=True)
    for line in stats.failures[:20]:
        click.echo(line, err=True)
    if store is not None:
        if stats.across_flagged:
            click.echo(f"R8 across years: {stats.across_flagged} reports flagged ({stats.across_errors} with errors)",
                       err=True)
        click.echo(f"store: {store.display}", err=True)
    if stats.not_done:
        click.echo(f"stopped with {stats.not_done} files not done; run the same command again to resume", err=True)
        sys.exit(130)


def _open_store(target: str) -> Store:
    try:
        return Store(target)
    except Exception as e:  # a bad URL, an unreachable server: say which and why, no traceback
        raise click.UsageError(f"cannot open the store {target!r}: {type(e).__name__}: {e}") from None


@main.command("export")
@click.option("--store", "store_target", envvar="OGI_STORE", required=True, metavar="PATH_OR_URL",
              help="The run store [env OGI_STORE].")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv", show_default=True,
              help="csv / parquet: wide, one row per report, one column per contract key; jsonl: one report a "
                   "line; sqlite: a standalone copy of the store.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="File to write.")
def export_cmd(store_target: str, fmt: str, output: str) -> None:
    """Export every report in the store (current values: extracted, then corrected by reviewers).

    Wide columns: id, doc, file, sha256, organ, year, format, status, flag_count, error_count,
    review_status, reviewer, reviewed_at, then every contract key of both formats in fields.json order
    (null where a report's format has no such cell).
    """
    store = _open_store(store_target)
    try:
        n = export(store, fmt, output)
    except FileExistsError as e:
        raise click.UsageError(str(e)) from None
    finally:
        store.close()
    click.echo(f"{n} reports -> {output} ({fmt})", err=True)


@main.command("export-gold")
@click.option("--store", "store_target", envvar="OGI_STORE", required=True, metavar="PATH_OR_URL",
              help="The run store [env OGI_STORE].")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder for the gold files.")
def export_gold_cmd(store_target: str, output: str) -> None:
    """Write every approved report as a gold file in the contract form (doc, meta, fields, unscored,
    source_consistent, notes), named <doc>.json."""
    store = _open_store(store_target)
    try:
        paths = write_gold(store, output)
    finally:
        store.close()
    click.echo(f"{len(paths)} approved reports -> {output}", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; beyond loopback a token is required.")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--store", "store_target", envvar="OGI_STORE", default="ogi-store.sqlite", show_default=True,
              metavar="PATH_OR_URL", help="The run store [env OGI_STORE].")
@click.option("--token", envvar="OGI_TOKEN", help="Bearer token clients must send [env OGI_TOKEN]; the review page "
                                                  "takes it once as /review?token=... (kept in a cookie).")
@click.option("--engine", type=click.Choice(ENGINES), default="hybrid", show_default=True)
@click.option("--max-upload", "max_upload", type=str, default="50M", show_default=True,
              help="Largest upload accepted by POST /v1/extract (413 beyond).")
@limit_options
@llm_options
def serve(host: str, port: int, store_target: str, token: str | None, engine: str, max_upload: str,
          max_pages: int, max_bytes: str, max_seconds: float, **llm_flags) -> None:
    """Serve the HTTP API and the review page (GET /review; API schema at /openapi.json)."""
    import uvicorn

    from extractor.server import ConfigError, ServerConfig, check_bind, create_app

    try:
        check_bind(host, token)
    except ConfigError as e:
        raise click.UsageError(str(e)) from None
    store = _open_store(store_target)
    cfg = ServerConfig(store=store, engine=engine, llm_flags=llm_flags, token=token,
                       file_opts={"limits": make_limits(max_pages, max_bytes, max_seconds)},
                       max_upload_bytes=_size(max_upload))
    click.echo(f"review page: http://{host if ':' not in host else f'[{host}]'}:{port}/review  (store: {store.display})",
               err=True)
    try:
        uvicorn.run(create_app(cfg), host=host, port=port, log_level="info")
    finally:
        store.close()


@main.command("eval")
@click.option("--docs", required=True, type=click.Path(exists=True, file_okay=False), help="Folder of documents (recursive).")
@click.option("--gold", required=True, type=click.Path(exists=True, file_okay=False), help="Folder of gold JSON files.")
@click.option("--engine", type=click.Choice(ENGINES), default="hybrid", show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the full report as JSON here.")
@click.option("--markdown", "md_path", type=click.Path(dir_okay=False), help="Write a markdown summary here.")
@click.option("--mutate", type=int, default=0, show_default=True,
              help="Also alter N random cells per consistent gold report and measure how many the validator flags.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed for --mutate.")
@limit_options
@llm_options
def eval_cmd(docs: str, gold: str, engine: str, json_path: str | None, md_path: str | None, mutate: int, seed: int,
             max_pages: int, max_bytes: str, max_seconds: float, **llm_flags) -> None:
    """Score extraction of every document in DOCS against the gold file of the same name.

    A document pairs with the gold file whose name matches it up to the first dot. Prints a
    table; --json writes the full scores (see README, "The eval contract").
    """
    from eval.harness import evaluate, render_markdown, render_table

    report = evaluate(Path(docs), Path(gold), engine=engine, mutate=mutate, seed=seed, llm_reader=make_llm(engine, **llm_flags),
                      limits=make_limits(max_pages, max_bytes, max_seconds), progress=sys.stderr.isatty())
    click.echo(render_table(report))
    if json_path:
        Path(json_path).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if md_path:
        Path(md_path).write_text(render_markdown(report), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main()
