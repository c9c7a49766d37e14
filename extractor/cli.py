"""The ``ogi-extract`` command line: a thin edge over the pipeline and the eval harness."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click
from tqdm import tqdm

from extractor.engines.llm import LLMReader
from extractor.llm.config import LLMConfig
from extractor.pipeline import ENGINES, extract_file, find_documents


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


def make_llm(engine: str, **overrides) -> LLMReader | None:
    if engine == "rules":
        return None
    cfg = LLMConfig.from_env(**overrides)
    return LLMReader(cfg) if cfg.configured else None


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
@llm_options
def extract(paths: tuple[str, ...], output: str | None, engine: str, progress: bool | None, **llm_flags) -> None:
    """Extract PATHS (files or folders, searched recursively) to one JSON line per report.

    Each line holds file, doc, status, meta, fields (contract keys), provenance (where each value
    is printed), flags (rule, severity, keys, message), engine and timings. A file that cannot be
    read gets status "failed" with an error code and message; the others still come out.
    A summary goes to stderr.
    """
    files = find_documents(list(paths))
    if not files:
        raise click.UsageError("no supported documents found under the given paths")
    llm = make_llm(engine, **llm_flags)
    show = sys.stderr.isatty() if progress is None else progress
    out = open(output, "w", encoding="utf-8") if output else sys.stdout
    status: Counter[str] = Counter()
    tokens = {"calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "cache_hits": 0}
    reasons: Counter[str] = Counter()
    failures: list[str] = []
    try:
        for path in tqdm(files, disable=not show, unit="file", file=sys.stderr):
            result = extract_file(path, engine=engine, llm=llm)
            for k in tokens:
                tokens[k] += result.llm.get(k, 0)
            out.write(result.model_dump_json(exclude_none=False) + "\n")
            out.flush()
            status[result.status] += 1
            for f in result.errors:
                reasons[f.rule] += 1
            if result.error:
                failures.append(f"  {path}: {result.error['code']}: {result.error['message']}")
    finally:
        if output:
            out.close()
    n = len(files)
    click.echo(f"{n} reports read: {status['ok']} ok, {status['flagged']} flagged, {status['failed']} failed", err=True)
    if tokens["calls"] or tokens["cache_hits"]:
        click.echo(f"llm: {tokens['calls']} calls, {tokens['input_tokens']} in / {tokens['output_tokens']} out tokens, "
                   f"${tokens['cost_usd']:.4f}, {tokens['cache_hits']} cached", err=True)
    if reasons:
        click.echo("flagged for: " + ", ".join(f"{r} x{c}" for r, c in reasons.most_common()), err=True)
    for line in failures[:20]:
        click.echo(line, err=True)


@main.command("eval")
@click.option("--docs", required=True, type=click.Path(exists=True, file_okay=False), help="Folder of documents (recursive).")
@click.option("--gold", required=True, type=click.Path(exists=True, file_okay=False), help="Folder of gold JSON files.")
@click.option("--engine", type=click.Choice(ENGINES), default="hybrid", show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the full report as JSON here.")
@click.option("--markdown", "md_path", type=click.Path(dir_okay=False), help="Write a markdown summary here.")
@click.option("--mutate", type=int, default=0, show_default=True,
              help="Also alter N random cells per consistent gold report and measure how many the validator flags.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed for --mutate.")
@llm_options
def eval_cmd(docs: str, gold: str, engine: str, json_path: str | None, md_path: str | None, mutate: int, seed: int,
             **llm_flags) -> None:
    """Score extraction of every document in DOCS against the gold file of the same name.

    A document pairs with the gold file whose name matches it up to the first dot. Prints a
    table; --json writes the full scores (see README, "The eval contract").
    """
    from eval.harness import evaluate, render_markdown, render_table

    report = evaluate(Path(docs), Path(gold), engine=engine, mutate=mutate, seed=seed, llm_reader=make_llm(engine, **llm_flags))
    click.echo(render_table(report))
    if json_path:
        Path(json_path).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if md_path:
        Path(md_path).write_text(render_markdown(report), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main()
