from django.urls import path

from audit import apis

app_name = "audit-api"

urlpatterns = [
    path("audit/checkpoint", apis.CheckpointApi.as_view(), name="checkpoint"),
    path("audit/log/checkpoint", apis.CheckpointNoteApi.as_view(), name="checkpoint-note"),
    path("audit/public-key", apis.PublicKeyApi.as_view(), name="public-key"),
    path("audit/keys", apis.KeysApi.as_view(), name="keys"),
    path("audit/proof/inclusion", apis.InclusionProofApi.as_view(), name="inclusion-proof"),
    path("audit/proof/consistency", apis.ConsistencyProofApi.as_view(), name="consistency-proof"),
    path("audit/export", apis.AuditExportApi.as_view(), name="export"),
]
