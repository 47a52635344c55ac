"""Public, read-only endpoints of the audit log: checkpoint, key, proofs (RFC 9162)."""

from __future__ import annotations

import re

from django.http import HttpResponse
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import selectors, signing
from audit.selectors import InvalidParameter
from compliance_site.errors import NotFound

_DECIMAL = re.compile(r"[0-9]{1,19}")


def _int_param(request, name: str) -> int:
    raw = request.query_params.get(name)
    if raw is None or _DECIMAL.fullmatch(raw) is None:
        raise InvalidParameter(f"{name} must be a non-negative integer.")
    return int(raw)


class _PublicApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class CheckpointApi(_PublicApi):
    def get(self, request):
        checkpoint = selectors.checkpoint_latest()
        if checkpoint is None:
            raise NotFound("No checkpoint has been issued yet.")
        return Response({**checkpoint.body(), "signature": checkpoint.signature})


class PublicKeyApi(_PublicApi):
    def get(self, request):
        return HttpResponse(signing.public_key_pem(), content_type="application/x-pem-file")


class InclusionProofApi(_PublicApi):
    def get(self, request):
        index = _int_param(request, "index")
        tree_size = _int_param(request, "tree_size")
        return Response(selectors.inclusion_proof(index=index, tree_size=tree_size))


class ConsistencyProofApi(_PublicApi):
    def get(self, request):
        first = _int_param(request, "first")
        second = _int_param(request, "second")
        return Response(selectors.consistency_proof(first=first, second=second))
