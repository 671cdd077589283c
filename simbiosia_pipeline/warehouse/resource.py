"""The warehouse as a Dagster resource: one place that knows how to reach PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg
from pydantic import PrivateAttr

from simbiosia_pipeline.warehouse.connection import connect, resolve_database_url


class WarehouseResource(dg.ConfigurableResource):
    """PostgreSQL at ``SIMBIOSIA_DATABASE_URL``, or the embedded server under ``SIMBIOSIA_HOME``.

    The URL is resolved when a run starts (not at import), so loading the code location never
    starts a database, and it is never part of the resource's config — it may hold a password.
    """

    _url: str | None = PrivateAttr(default=None)

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = resolve_database_url()
        return self._url

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with connect(self.url) as conn:
            yield conn
