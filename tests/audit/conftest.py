from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(phone_number="+447700900001")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user(phone_number="+447700900002")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(phone_number="+447700900099", is_staff=True)


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")


@pytest.fixture
def on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
