"""The request a signed-in person's view receives, for the type checker.

Every view and API view that takes one of these is behind ``login_required`` or DRF's default
``IsAuthenticated``, so its ``request.user`` is a ``User``, never ``AnonymousUser``. Nothing here
runs: the classes only name that fact where the views are declared.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request

from consent.identity.models import User


class SignedInHttpRequest(HttpRequest):
    user: User


class SignedInRequest(Request):
    user: User
