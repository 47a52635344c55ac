from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")


@pytest.fixture
def on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
