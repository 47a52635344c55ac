"""403, 404 and 500 pages in the portal's look, saying what to do next; the 500 page renders
without a request (Django's server_error gives it none), and in the active language."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.urls import path
from django.utils import translation

from compliance_site import urls as site_urls

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("a bug")


def _forbidden(request):
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied


# The site's own addresses, plus two that fail (this module is the URLconf of some tests).
urlpatterns = [path("boom/", _boom), path("forbidden/", _forbidden), *site_urls.urlpatterns]


def test_the_500_page_renders_without_a_request_or_context_processors():
    with translation.override("en"):
        html = render_to_string("500.html")

    assert "Something went wrong on our side" in html
    assert "/static/faceledger/site.css" in html
    assert 'href="/dashboard/"' in html
    assert "csrfmiddlewaretoken" not in html  # no form that would need a request


def test_the_500_page_is_in_the_active_language():
    with translation.override("zh-hans"):
        html = render_to_string("500.html")

    assert '<html lang="zh-hans">' in html
    assert "Something went wrong" not in html


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_an_unhandled_error_answers_500_with_our_page():
    client = Client(raise_request_exception=False)

    response = client.get("/boom/")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


@override_settings(ROOT_URLCONF=__name__)
def test_a_refusal_answers_403_with_our_page_and_a_way_on():
    response = Client().get("/forbidden/")

    html = response.content.decode()
    assert response.status_code == 403
    assert "You cannot open this page" in html
    assert "sign in again" in html
    assert 'class="language-switch"' in html


def test_an_unknown_address_answers_404_with_our_page_in_the_chosen_language():
    client = Client()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})

    response = client.get("/no-such-page/")

    html = response.content.decode()
    assert response.status_code == 404
    assert '<html lang="zh-hans">' in html
    assert "404" in html
    assert 'href="/dashboard/"' in html
    assert "We cannot find this page" not in html


def test_a_form_sent_without_its_csrf_token_gets_our_expired_form_page():
    client = Client(enforce_csrf_checks=True)

    response = client.post("/login/", {"phone": "+447400155555"})

    html = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in html
    assert "reload the page" in html
    assert "/static/faceledger/site.css" in html


def test_the_language_switch_posts_with_csrf_and_comes_back_to_the_page():
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = client.cookies["csrftoken"].value

    refused = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    switched = client.post(
        "/i18n/setlang/",
        {"language": "zh-hans", "next": "/login/", "csrfmiddlewaretoken": token},
    )

    assert 'action="/i18n/setlang/"' in page.content.decode()
    assert refused.status_code == 403
    assert switched.status_code == 302
    assert switched["Location"] == "/login/"
    assert '<html lang="zh-hans">' in client.get("/login/").content.decode()


def test_the_site_root_leads_to_the_account_page():
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
