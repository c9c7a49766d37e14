"""The run store: every extracted report, keyed by the sha256 of its file's bytes.

One code path on SQLite (a file path, the default) and PostgreSQL (a ``postgresql://`` URL),
through SQLAlchemy Core. Each result is written in its own transaction the moment it is done, so
a run killed at any point keeps everything it finished and a re-run skips it.

Tables
- ``reports``: one row per distinct file content (sha256 unique): the result as extracted (JSON),
  the current field values (extracted, then reviewers' corrections), the normalised document text
  (for char-span highlighting), what produced the result (engine, LLM model, extractor version),
  R8 flags across reports, counts used to sort the review queue, and the review state.
- ``files``: every path seen, with its sha256 (two paths with the same bytes share one report).
- ``review_log``: every correction and approval, with time and reviewer name.
- ``blobs``: the bytes of files uploaded through the API (batch runs keep their files on disk).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from extractor.across import organ_key
from extractor.contract import keys_for
from extractor.flags import Flag
from extractor.validate import check_appeals, check_balance, check_results_totals, check_row_totals, check_values

metadata = sa.MetaData()
_JSON = sa.JSON(none_as_null=True)

reports = sa.Table(
    "reports", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("file", sa.Text, nullable=False),
    sa.Column("doc", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # as extracted: ok / flagged / failed
    sa.Column("organ", sa.Text),
    sa.Column("organ_key", sa.Text, index=True),
    sa.Column("year", sa.Integer),
    sa.Column("format", sa.String(8)),
    sa.Column("kind", sa.String(16)),  # document kind read: text, pdf, docx, html, doc
    sa.Column("engine", sa.String(16)),
    # {engine, model, version} that produced ``result``; null in stores made before it was recorded
    sa.Column("producer", _JSON),
    sa.Column("result", _JSON, nullable=False),  # the extract JSON line, as extracted
    sa.Column("fields", _JSON),  # current values: extracted, then corrected by reviewers
    sa.Column("text", sa.Text),  # Document.text: provenance start/end point here
    sa.Column("x_errors", sa.Integer, nullable=False, default=0),  # error flags from extraction
    sa.Column("x_flags", sa.Integer, nullable=False, default=0),
    sa.Column("x_rules", sa.Text, nullable=False, default=""),  # rules of the error flags, comma-joined
    sa.Column("across", _JSON),  # R8 flags (this report is the later one)
    sa.Column("across_count", sa.Integer, nullable=False, default=0),
    sa.Column("across_errors", sa.Integer, nullable=False, default=0),
    sa.Column("error_count", sa.Integer, nullable=False, default=0, index=True),  # x_errors + across_errors
    sa.Column("flag_count", sa.Integer, nullable=False, default=0),
    sa.Column("review_status", sa.String(16), nullable=False, default="pending"),  # pending / approved
    sa.Column("reviewer", sa.Text),
    sa.Column("reviewed_at", sa.String(32)),
    sa.Column("source_consistent", sa.Boolean),  # the reviewer's call; null = not said
    sa.Column("notes", sa.Text),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

files = sa.Table(
    "files", metadata,
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("size", sa.BigInteger),
    sa.Column("seen_at", sa.String(32), nullable=False),
)

review_log = sa.Table(
    "review_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),  # correct / approve
    sa.Column("key", sa.Text),
    sa.Column("old", _JSON),
    sa.Column("new", _JSON),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
)

blobs = sa.Table(
    "blobs", metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

META_KEYS = ("meta.organ", "meta.year")
RECHECKED = ("R1", "R2", "R3", "R4", "R5")  # rules that values alone decide: re-run on corrected values
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class StoreError(ValueError):
    """A request the store refuses (unknown report, key not in the report's format, bad value)."""


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def store_url(target: str | Path) -> str:
    """A path -> SQLite URL; ``postgresql://``/``postgres://`` -> the psycopg (v3) driver; other URLs as given."""
    s = str(target)
    if not _URL.match(s):
        path = Path(s).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    for prefix in ("postgresql://", "postgres://"):
        if s.startswith(prefix):
            return "postgresql+psycopg://" + s[len(prefix):]
    return s


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def recheck(fields: dict) -> list[Flag]:
    """R1-R5 on values alone: what a report's (corrected) values break."""
    return (check_row_totals(fields) + check_results_totals(fields) + check_balance(fields) + check_appeals(fields)
            + check_values(fields))


def current_flags(result: dict, fields: dict) -> list[dict]:
    """The extraction's flags, with R1-R5 re-run on the current values once a reviewer changed any."""
    flags = list(result.get("flags") or [])
    if fields == (result.get("fields") or {}):
        return flags
    return [f for f in flags if f.get("rule") not in RECHECKED] + [f.model_dump() for f in recheck(fields)]


def _errors(flags: list[dict]) -> int:
    return sum(1 for f in flags if f.get("severity") == "error")


def _rules(flags: list[dict]) -> list[str]:
    return sorted({f.get("rule", "?") for f in flags if f.get("severity") == "error"})


class Store:
    def __init__(self, target: str | Path):
        self.url = store_url(target)
        self.engine = sa.create_engine(self.url, json_serializer=_dumps, **self._engine_args())
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        self._add_new_columns()

    def _report_columns(self) -> set[str]:
        return {c["name"] for c in sa.inspect(self.engine).get_columns("reports")}

    def _add_new_columns(self) -> None:
        """A store made by an older version gets the (nullable) columns added since; its rows read as null."""
        have = self._report_columns()
        for col in [c for c in reports.columns if c.name not in have]:
            try:
                with self.engine.begin() as c:
                    c.execute(sa.text(f"ALTER TABLE reports ADD COLUMN {col.name} "
                                      f"{col.type.compile(self.engine.dialect)}"))
            except sa.exc.DBAPIError:
                if col.name not in self._report_columns():  # else another process added it first
                    raise

    def _engine_args(self) -> dict:
        if self.url.startswith("sqlite"):
            return {"connect_args": {"timeout": 30}}
        return {"pool_pre_ping": True}

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def display(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _insert(self, table):
        return (pg_dialect.insert if self.engine.dialect.name == "postgresql" else sqlite_dialect.insert)(table)

    # ------------------------------------------------------------------ writing results

    def done(self, hashes: Iterable[str], retry_failed: bool = False) -> set[str]:
        """The hashes among ``hashes`` that already have a report (a failed one only unless retrying)."""
        return {h for h, r in self.stored(hashes).items() if not (retry_failed and r["status"] == "failed")}

    def stored(self, hashes: Iterable[str]) -> dict[str, dict]:
        """sha256 -> ``status``, ``producer`` and ``reviewed`` of each report stored for these hashes.

        ``producer`` is what extracted the stored result (engine, model, version); a result stored
        before this was recorded (or by a caller that gave none) shows only its engine: what is
        missing is unknown.
        """
        hashes = list(hashes)
        out: dict[str, dict] = {}
        q = sa.select(reports.c.sha256, reports.c.status, reports.c.engine, reports.c.producer,
                      _reviewed().label("reviewed"))
        with self.engine.connect() as c:
            for i in range(0, len(hashes), 500):
                for r in c.execute(q.where(reports.c.sha256.in_(hashes[i:i + 500]))):
                    producer = r.producer or ({"engine": r.engine} if r.engine else {})
                    out[r.sha256] = {"status": r.status, "producer": producer, "reviewed": bool(r.reviewed)}
        return out

    def put_result(self, result: dict, sha256: str, *, text: str | None = None, kind: str | None = None,
                   paths: Iterable[tuple[str, int | None]] = (), blob: tuple[str, bytes] | None = None,
                   producer: dict | None = None, replace: bool = False) -> int:
        """Store one result (the extract JSON line as a dict) in one transaction; return its report id.

        A report already stored for these bytes is kept as it is (first write wins), unless it
        failed, or ``replace`` is set and no reviewer has touched it: then the new result replaces
        it. ``producer``: what extracted it ({engine, model, version}). ``paths`` are (path, size)
        pairs to record.
        """
        ts = now()
        flags = result.get("flags") or []
        meta = result.get("meta") or {}
        row = {
            "sha256": sha256, "file": result["file"], "doc": result["doc"], "status": result["status"],
            "organ": meta.get("organ"), "organ_key": organ_key(meta.get("organ")), "year": meta.get("year"),
            "format": meta.get("format"), "kind": kind, "engine": result.get("engine"), "producer": producer,
            "result": result, "fields": result.get("fields") or {}, "text": text,
            "x_errors": _errors(flags), "x_flags": len(flags), "x_rules": ",".join(_rules(flags)),
            "across": [], "across_count": 0, "across_errors": 0,
            "error_count": _errors(flags), "flag_count": len(flags),
            "review_status": "pending", "created_at": ts, "updated_at": ts,
        }
        ins = self._insert(reports).values(**row)
        update = {k: ins.excluded[k] for k in row if k not in ("sha256", "created_at", "review_status")}
        when = reports.c.status == "failed"
        if replace:
            when = sa.or_(when, ~_reviewed())
        ins = ins.on_conflict_do_update(index_elements=["sha256"], set_=update, where=when)
        with self.engine.begin() as c:
            c.execute(ins)
            rid = c.scalar(sa.select(reports.c.id).where(reports.c.sha256 == sha256))
            self._add_paths(c, sha256, paths, ts)
            if blob is not None:
                b = self._insert(blobs).values(sha256=sha256, name=blob[0], data=blob[1])
                c.execute(b.on_conflict_do_nothing(index_elements=["sha256"]))
        return rid

    def add_paths(self, sha256: str, paths: Iterable[tuple[str, int | None]]) -> None:
        with self.engine.begin() as c:
            self._add_paths(c, sha256, paths, now())

    def _add_paths(self, c, sha256: str, paths, ts: str) -> None:
        for path, size in paths:
            ins = self._insert(files).values(path=str(path), sha256=sha256, size=size, seen_at=ts)
            c.execute(ins.on_conflict_do_update(index_elements=["path"],
                                                set_={"sha256": sha256, "size": size, "seen_at": ts}))

    # ------------------------------------------------------------------ R8 across reports

    def summaries(self, organ_keys: Iterable[str] | None = None) -> list[dict]:
        """id, doc, organ, year, format, status and current fields of every report (for R8)."""
        q = sa.select(reports.c.id, reports.c.doc, reports.c.organ, reports.c.year, reports.c.format,
                      reports.c.status, reports.c.fields).where(reports.c.status != "failed")
        if organ_keys is not None:
            q = q.where(reports.c.organ_key.in_(list(organ_keys)))
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(q.order_by(reports.c.id))]

    def organ_key_of(self, report_id: int) -> str | None:
        with self.engine.connect() as c:
            return c.scalar(sa.select(reports.c.organ_key).where(reports.c.id == report_id))

    def set_across(self, flags: dict[int, list[dict]], organ_keys: Iterable[str] | None = None) -> None:
        """Replace the R8 flags of every report in scope (all, or those of ``organ_keys``) in one transaction."""
        scope = [] if organ_keys is None else [reports.c.organ_key.in_(list(organ_keys))]
        with self.engine.begin() as c:
            c.execute(reports.update().where(reports.c.across_count > 0, *scope).values(
                across=[], across_count=0, across_errors=0,
                error_count=reports.c.x_errors, flag_count=reports.c.x_flags))
            for rid, fl in flags.items():
                n_err = _errors(fl)
                c.execute(reports.update().where(reports.c.id == rid).values(
                    across=fl, across_count=len(fl), across_errors=n_err,
                    error_count=reports.c.x_errors + n_err, flag_count=reports.c.x_flags + len(fl)))

    # ------------------------------------------------------------------ reading

    def count(self) -> int:
        with self.engine.connect() as c:
            return c.scalar(sa.select(sa.func.count()).select_from(reports))

    def file_rows(self) -> list[dict]:
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(sa.select(files).order_by(files.c.path))]

    def queue(self, flagged: bool | None = True, include_approved: bool = False, status: str | None = None,
              limit: int | None = None, offset: int = 0) -> list[dict]:
        """Report summaries, most errors first. ``flagged``: only reports with an error flag (R8 included)."""
        cols = [reports.c[k] for k in ("id", "doc", "file", "sha256", "status", "organ", "year", "format", "kind",
                                       "error_count", "flag_count", "x_rules", "across_errors", "review_status",
                                       "reviewer", "reviewed_at")]
        q = sa.select(*cols)
        if flagged:
            q = q.where(reports.c.error_count > 0, reports.c.status != "failed")
        elif flagged is False:
            q = q.where(reports.c.error_count == 0)
        if not include_approved:
            q = q.where(reports.c.review_status != "approved")
        if status == "failed":
            q = q.where(reports.c.status == "failed")
        q = q.order_by(reports.c.error_count.desc(), reports.c.flag_count.desc(), reports.c.id).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as c:
            return [_summary(dict(r._mapping)) for r in c.execute(q)]

    def get(self, report_id: int, with_text: bool = False) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(reports).where(reports.c.id == report_id)).first()
            if row is None:
                return None
            log = c.execute(sa.select(review_log).where(review_log.c.report_id == report_id)
                            .order_by(review_log.c.id)).all()
        return _view(dict(row._mapping), [dict(x._mapping) for x in log], with_text)

    def get_by_sha(self, sha256: str) -> dict | None:
        with self.engine.connect() as c:
            rid = c.scalar(sa.select(reports.c.id).where(reports.c.sha256 == sha256))
        return None if rid is None else self.get(rid)

    def stored_result(self, sha256: str) -> dict | None:
        """The extract JSON line (as a dict) stored for these bytes, as it was extracted."""
        with self.engine.connect() as c:
            return c.scalar(sa.select(reports.c.result).where(reports.c.sha256 == sha256))

    def iter_reports(self, approved_only: bool = False, batch: int = 200) -> Iterator[dict]:
        """Every report's full view, in id order (read in batches; safe on large stores)."""
        last = 0
        while True:
            q = sa.select(reports).where(reports.c.id > last)
            if approved_only:
                q = q.where(reports.c.review_status == "approved")
            with self.engine.connect() as c:
                rows = [dict(r._mapping) for r in c.execute(q.order_by(reports.c.id).limit(batch))]
                ids = [r["id"] for r in rows]
                logs: dict[int, list[dict]] = {}
                if ids:
                    for x in c.execute(sa.select(review_log).where(review_log.c.report_id.in_(ids))
                                       .order_by(review_log.c.id)):
                        logs.setdefault(x.report_id, []).append(dict(x._mapping))
            if not rows:
                return
            for r in rows:
                yield _view(r, logs.get(r["id"], []), False)
            last = rows[-1]["id"]

    def source(self, report_id: int) -> dict | None:
        """Where to show the report's source from: kind, text, file path, and the uploaded bytes if any."""
        with self.engine.connect() as c:
            row = c.execute(sa.select(reports.c.kind, reports.c.text, reports.c.file, reports.c.sha256)
                            .where(reports.c.id == report_id)).first()
            if row is None:
                return None
            data = c.scalar(sa.select(blobs.c.data).where(blobs.c.sha256 == row.sha256))
        return {"kind": row.kind, "text": row.text, "file": row.file, "sha256": row.sha256, "data": data}

    # ------------------------------------------------------------------ review

    def correct(self, report_id: int, key: str, value, reviewer: str) -> dict:
        """Set one value (a contract key of the report's format, or meta.organ / meta.year), logged."""
        reviewer = _reviewer(reviewer)
        ts = now()
        with self.engine.begin() as c:
            row = c.execute(sa.select(reports.c.fields, reports.c.format, reports.c.organ, reports.c.year,
                                      reports.c.status, reports.c.result).where(reports.c.id == report_id).with_for_update()).first()
            if row is None:
                raise StoreError(f"no report {report_id}")
            if row.status == "failed":
                raise StoreError(f"report {report_id} failed to extract: there are no values to correct")
            upd: dict = {"updated_at": ts, "review_status": "pending"}
            if key == "meta.organ":
                value = None if value in (None, "") else str(value).strip()
                old = row.organ
                upd.update(organ=value, organ_key=organ_key(value))
            elif key == "meta.year":
                value = _year(value)
                old = row.year
                upd["year"] = value
            else:
                fields = dict(row.fields or {})
                if key not in fields or (row.format and key not in keys_for(row.format)):
                    raise StoreError(f"{key} is not a key of format {row.format}")
                value = _number(value, key)
                old = fields[key]
                fields[key] = value
                flags = current_flags(row.result or {}, fields)
                n_err = _errors(flags)
                upd.update(fields=fields, x_errors=n_err, x_flags=len(flags), x_rules=",".join(_rules(flags)),
                           error_count=reports.c.across_errors + n_err, flag_count=reports.c.across_count + len(flags))
            c.execute(reports.update().where(reports.c.id == report_id).values(**upd))
            c.execute(review_log.insert().values(report_id=report_id, action="correct", key=key, old=old, new=value,
                                                 reviewer=reviewer, at=ts))
        return self.get(report_id)

    def approve(self, report_id: int, reviewer: str, source_consistent: bool | None = None,
                notes: str | None = None) -> dict:
        reviewer = _reviewer(reviewer)
        ts = now()
        with self.engine.begin() as c:
            status = c.scalar(sa.select(reports.c.status).where(reports.c.id == report_id).with_for_update())
            if status is None:
                raise StoreError(f"no report {report_id}")
            if status == "failed":
                raise StoreError(f"report {report_id} failed to extract and cannot be approved")
            c.execute(reports.update().where(reports.c.id == report_id).values(
                review_status="approved", reviewer=reviewer, reviewed_at=ts, source_consistent=source_consistent,
                notes=notes, updated_at=ts))
            c.execute(review_log.insert().values(
                report_id=report_id, action="approve", key=None, old=None,
                new={"source_consistent": source_consistent, "notes": notes}, reviewer=reviewer, at=ts))
        return self.get(report_id)

    # ------------------------------------------------------------------ copying (the SQLite export)

    def copy_to(self, other: "Store", batch: int = 500) -> None:
        """Copy every table into another (empty) store, e.g. a PostgreSQL store into a SQLite file."""
        with self.engine.connect() as src:
            for table in metadata.sorted_tables:
                rows = src.execute(sa.select(table)).mappings()
                chunk: list[dict] = []
                for r in rows:
                    chunk.append(dict(r))
                    if len(chunk) >= batch:
                        with other.engine.begin() as dst:
                            dst.execute(table.insert(), chunk)
                        chunk = []
                if chunk:
                    with other.engine.begin() as dst:
                        dst.execute(table.insert(), chunk)
        if other.engine.dialect.name == "postgresql":
            with other.engine.begin() as dst:
                for t in ("reports", "review_log"):
                    dst.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                                        f"COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)"))


def _reviewed():
    """True for a report with a correction or an approval: a re-extraction never overwrites it."""
    return reports.c.id.in_(sa.select(review_log.c.report_id))  # uncorrelated: also valid in an upsert's WHERE


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (the server) never block the batch writer
    cur.execute("PRAGMA synchronous=NORMAL")  # a committed row survives kill -9 (not power loss)
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _reviewer(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise StoreError("a reviewer name is required")
    return name[:200]


def _year(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        y = int(str(value).strip())
    except ValueError:
        raise StoreError(f"year {value!r} is not a number") from None
    if not 1990 <= y <= 2100:
        raise StoreError(f"year {y} is out of range")
    return y


def _number(value, key: str) -> int | float | None:
    """A reviewer's value: a number, or null for a blank / dash."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise StoreError(f"{key}: {value!r} is not a number")
    if isinstance(value, (int, float)):
        v = value
    else:
        s = str(value).strip().replace(",", "")
        if s in ("", "-", "—", "/", "null"):
            return None
        try:
            v = float(s)
        except ValueError:
            raise StoreError(f"{key}: {value!r} is not a number") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise StoreError(f"{key}: {value!r} is not a number")
    if float(v).is_integer():
        return int(v)
    return float(v)


def _effective_status(row: dict) -> str:
    if row["status"] == "failed":
        return "failed"
    return "flagged" if row["error_count"] > 0 else "ok"


def _summary(row: dict) -> dict:
    rules = [r for r in (row.pop("x_rules") or "").split(",") if r]
    if row.pop("across_errors") and "R8" not in rules:
        rules.append("R8")
    row["rules"] = rules
    row["status"] = _effective_status(row)
    return row


def _view(row: dict, log: list[dict], with_text: bool) -> dict:
    """A stored report as the API and exports show it: current values, all flags, review state."""
    result = row["result"] or {}
    across = row["across"] or []
    out = {
        "id": row["id"], "sha256": row["sha256"], "file": row["file"], "doc": row["doc"],
        "status": _effective_status(row), "extracted_status": row["status"],
        "meta": {"organ": row["organ"], "year": row["year"], "format": row["format"]},
        "fields": row["fields"] or {},
        "extracted": {"meta": result.get("meta") or {}, "fields": result.get("fields") or {}},
        "provenance": result.get("provenance") or {},
        "flags": current_flags(result, row["fields"] or {}) + list(across),
        "engine": row["engine"], "kind": row["kind"], "timings": result.get("timings") or {},
        "error": result.get("error"), "llm": result.get("llm") or {},
        "error_count": row["error_count"], "flag_count": row["flag_count"],
        "review": {"status": row["review_status"], "reviewer": row["reviewer"], "reviewed_at": row["reviewed_at"],
                   "source_consistent": row["source_consistent"], "notes": row["notes"]},
        "log": [{"action": x["action"], "key": x["key"], "old": x["old"], "new": x["new"],
                 "reviewer": x["reviewer"], "at": x["at"]} for x in log],
        "created_at": row["created_at"], "updated_at": row["updated_at"],
    }
    if with_text:
        out["text"] = row["text"]
    return out
