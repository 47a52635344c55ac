"""Schemathesis against the served OpenAPI schema (``/api/schema/``), through the WSGI app:
generated requests for every operation, signed in with a real API token → never a 5xx, and
every response matches the schema (status, content type, body)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.consent.conftest import token_client

pytestmark = pytest.mark.fuzz
# The WSGI app itself, not ``compliance_site.wsgi``: that module also checks the bucket when a
# web process starts, and with STORAGE_BACKEND=s3 each test's bucket exists only inside the test.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def _keep_the_test_connection():
    """The real WSGI handler closes the database connection after each request; the test's
    transaction lives on it, so, as Django's test client does, the closing is switched off."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, _keep_the_test_connection, policies, enrolled, grant_consent):
    """A subject with a capture and consents, and the key of a real API token."""
    from tests.factories import UserFactory

    subject = UserFactory()
    enrolled(subject)
    grant_consent(subject, "face_swap")
    return token_client(subject)._credentials["HTTP_AUTHORIZATION"]


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_never_fails_and_answers_as_its_schema_says(case, token):
    # Schema-valid input may still break a business rule (an unknown number, a tree size
    # beyond the log): a documented 4xx, so "positive data acceptance" is not asked for.
    case.call_and_validate(
        headers={"Authorization": token}, excluded_checks=[positive_data_acceptance]
    )
