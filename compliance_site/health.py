"""``GET /api/v1/health``: answers 200 and does nothing else (no database, no broker), for load
balancers and as the load benchmark's baseline."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class HealthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []  # a load balancer polls it from one address

    @extend_schema(
        operation_id="health",
        tags=["health"],
        summary="The web process answers (touches nothing else)",
        responses={200: inline_serializer("Health", {"status": serializers.CharField()})},
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})
