"""Exports from the run store: wide CSV / Parquet (one row per report, one column per contract key),
JSONL (one report a line), a SQLite copy, and approved reports as gold files in the contract form.

Values are the current ones: as extracted, then as corrected by reviewers. ``status`` counts R8
flags too (a report whose previous year does not chain up is ``flagged``).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

from extractor.contract import field_specs, keys_for
from extractor.store import Store, recheck

META_COLUMNS = ("id", "doc", "file", "sha256", "organ", "year", "format", "status", "flag_count", "error_count",
                "review_status", "reviewer", "reviewed_at")
FORMATS = ("csv", "parquet", "jsonl", "sqlite")
# Printed-number problems that the values alone cannot show once read (the source must be looked at).
_SOURCE_RULES = {"SHAPE", "R6"}


def all_keys() -> list[str]:
    """Every contract key of both formats, in fields.json order."""
    return [f.key for f in field_specs()]


def columns() -> list[str]:
    return list(META_COLUMNS) + all_keys()


def wide_row(view: dict) -> dict:
    row = {
        "id": view["id"], "doc": view["doc"], "file": view["file"], "sha256": view["sha256"],
        "organ": view["meta"]["organ"], "year": view["meta"]["year"], "format": view["meta"]["format"],
        "status": view["status"], "flag_count": view["flag_count"], "error_count": view["error_count"],
        "review_status": view["review"]["status"], "reviewer": view["review"]["reviewer"],
        "reviewed_at": view["review"]["reviewed_at"],
    }
    fields = view["fields"] or {}
    for k in all_keys():
        row[k] = fields.get(k)
    return row


def wide_rows(store: Store) -> Iterator[dict]:
    for view in store.iter_reports():
        yield wide_row(view)


def write_csv(store: Store, path: str | Path) -> int:
    """UTF-8 with a BOM (Excel opens it as UTF-8; pandas and DuckDB read it as is); blank = null."""
    n = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns())
        w.writeheader()
        for row in wide_rows(store):
            w.writerow({k: ("" if v is None else v) for k, v in row.items()})
            n += 1
    return n


def write_jsonl(store: Store, path: str | Path) -> int:
    """One report a line: the extract line's keys with current values and all flags, plus id, sha256, review, log."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for view in store.iter_reports():
            f.write(json.dumps(view, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_parquet(store: Store, path: str | Path, batch: int = 1000) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Counts are int64 columns; a count printed with decimals (an R5 error) makes its column float64.
    specs = {f.key: f for f in field_specs()}
    fractional = set()
    for view in store.iter_reports():
        for k, v in (view["fields"] or {}).items():
            if isinstance(v, float) and not v.is_integer():
                fractional.add(k)
    types = {"id": pa.int64(), "year": pa.int64(), "flag_count": pa.int64(), "error_count": pa.int64()}
    for k in META_COLUMNS:
        types.setdefault(k, pa.string())
    for k, s in specs.items():
        types[k] = pa.float64() if (s.type == "number" or k in fractional) else pa.int64()
    schema = pa.schema([(c, types[c]) for c in columns()])

    def table(rows: list[dict]):
        arrays = []
        for c in columns():
            vals = [r[c] for r in rows]
            if types[c] == pa.int64():
                vals = [None if v is None else int(v) for v in vals]
            elif types[c] == pa.float64():
                vals = [None if v is None else float(v) for v in vals]
            else:
                vals = [None if v is None else str(v) for v in vals]
            arrays.append(pa.array(vals, type=types[c]))
        return pa.Table.from_arrays(arrays, schema=schema)

    n = 0
    with pq.ParquetWriter(str(path), schema) as w:
        rows: list[dict] = []
        for row in wide_rows(store):
            rows.append(row)
            if len(rows) >= batch:
                w.write_table(table(rows))
                n += len(rows)
                rows = []
        if rows or n == 0:
            w.write_table(table(rows))
            n += len(rows)
    return n


def write_sqlite(store: Store, path: str | Path) -> int:
    """A standalone SQLite copy of the store (for a SQLite store, the same as copying its file)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; the SQLite export writes a new file")
    with Store(path) as out:
        store.copy_to(out)
        return out.count()


def export(store: Store, fmt: str, path: str | Path) -> int:
    writers = {"csv": write_csv, "parquet": write_parquet, "jsonl": write_jsonl, "sqlite": write_sqlite}
    if fmt not in writers:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return writers[fmt](store, path)


# ---------------------------------------------------------------------- gold files

def default_source_consistent(view: dict) -> bool:
    """Whether the document's own numbers look consistent: the current values pass R1-R5 and the
    extraction saw no printed-shape or narrative disagreement. The reviewer's own call wins."""
    if any(f.get("severity") == "error" and f.get("rule") in _SOURCE_RULES for f in view["flags"]):
        return False
    return not any(f.severity == "error" for f in recheck(view["fields"] or {}))


def source_consistent(view: dict) -> bool:
    said = view["review"]["source_consistent"]
    return default_source_consistent(view) if said is None else bool(said)


def gold_of(view: dict) -> dict:
    """An approved report in the contract's gold form."""
    fmt = view["meta"]["format"]
    fields = view["fields"] or {}
    notes = []
    if view["review"]["notes"]:
        notes.append(view["review"]["notes"].strip())
    notes.append(f"Reviewed in ogi-extract by {view['review']['reviewer']} at {view['review']['reviewed_at']}"
                 f" (report #{view['id']}, sha256 {view['sha256'][:12]}, engine {view['engine']}).")
    fixes = [x for x in view["log"] if x["action"] == "correct"]
    if fixes:
        notes.append("Corrected: " + "; ".join(f"{x['key']} {x['old']} -> {x['new']} ({x['reviewer']}, {x['at']})"
                                                for x in fixes) + ".")
    return {
        "doc": view["doc"],
        "meta": dict(view["meta"]),
        "fields": {k: fields.get(k) for k in keys_for(fmt)} if fmt else dict(fields),
        "unscored": [],
        "source_consistent": source_consistent(view),
        "notes": " ".join(notes),
    }


_UNSAFE = re.compile(r"[\x00/\\]")


def write_gold(store: Store, out_dir: str | Path) -> list[Path]:
    """Every approved report as ``<doc>.json`` (``<doc>.<sha8>.json`` when two approved reports share a doc name)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    used: set[str] = set()
    for view in store.iter_reports(approved_only=True):
        doc = _UNSAFE.sub("_", view["doc"]) or view["sha256"][:12]
        name = doc if doc not in used else f"{doc}.{view['sha256'][:8]}"
        used.add(doc)
        path = out_dir / f"{name}.json"
        path.write_text(json.dumps(gold_of(view), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    return written
