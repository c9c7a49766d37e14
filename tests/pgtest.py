"""A throwaway PostgreSQL schema for store tests.

OGI_TEST_PG_URL (e.g. postgresql://ogi:ogi@127.0.0.1:5432/ogi_test; .ci/run starts a server and
sets it) names the server. Unset: the PostgreSQL tests skip. Set but unreachable: they fail.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest


def pg_url_or_skip() -> str:
    url = os.environ.get("OGI_TEST_PG_URL")
    if not url:
        pytest.skip("no PostgreSQL server for the tests (set OGI_TEST_PG_URL; .ci/run does)")
    return url


def fresh_schema(url: str):
    """(store URL whose search_path is a new empty schema, cleanup function)."""
    import sqlalchemy as sa

    from extractor.store import store_url

    schema = "t_" + uuid.uuid4().hex[:12]
    eng = sa.create_engine(store_url(url), connect_args={"connect_timeout": 5})
    with eng.begin() as c:
        c.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    scoped = f"{url}{sep}options={quote(f'-csearch_path={schema}')}"

    def drop() -> None:
        with eng.begin() as c:
            c.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        eng.dispose()

    return scoped, drop
