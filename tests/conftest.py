"""Fixtures shared by every app's tests. Network access is blocked except to loopback."""

from __future__ import annotations

import ipaddress
import socket

import pytest

_real_connect = socket.socket.connect


def _is_loopback(address) -> bool:
    if isinstance(address, tuple | list):
        host = address[0]
    else:
        return True  # AF_UNIX sockets (e.g. the PostgreSQL socket) stay on this machine
    if host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self, address):
    if not _is_loopback(address):
        raise OSError(f"network access is blocked in tests (tried {address!r})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _block_network():
    socket.socket.connect = _guarded_connect
    yield
    socket.socket.connect = _real_connect


@pytest.fixture(autouse=True, scope="session")
def _flush_keeps_audit_log():
    """Transactional tests flush tables afterwards; the audit log's triggers refuse that."""
    from django.core.management.commands import flush

    from audit.testing import sql_flush_keeping_audit

    real = flush.sql_flush
    flush.sql_flush = sql_flush_keeping_audit
    yield
    flush.sql_flush = real


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
