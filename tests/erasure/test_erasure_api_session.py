"""Attack: the portal's erasure needs a fresh code and typed words; the API with the portal's
own session cookie must not erase without them."""

from __future__ import annotations

from django.test import Client

from consent.erasure.models import ErasureRequest
from consent.identity.models import User
from tests.erasure.kit import ERASURE_URL


def test_a_portal_session_cannot_erase_the_account_through_the_api_without_the_fresh_code(
    alice, policies
):
    """Someone at a signed-in browser (or a script on the page) has the session cookie and the
    CSRF token every page carries, but not the person's phone: the API must not accept the
    session to skip the code the portal asks for."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page = browser.get("/account/delete/")
    assert page.status_code == 200
    csrf = browser.cookies["csrftoken"].value

    attempt = browser.post(ERASURE_URL, HTTP_X_CSRFTOKEN=csrf, content_type="application/json")

    assert attempt.status_code in (401, 403), attempt.content
    assert User.objects.get(pk=alice.pk).is_active
    assert not ErasureRequest.objects.exists()
