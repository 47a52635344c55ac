from django.urls import path

from swap import apis

urlpatterns = [
    path("templates", apis.TemplateListApi.as_view(), name="api-templates"),
    path(
        "templates/<str:template_id>/poster",
        apis.TemplatePosterApi.as_view(),
        name="api-template-poster",
    ),
    path("swaps", apis.SwapListApi.as_view(), name="api-swaps"),
    path("swap-notices", apis.SwapNoticeListApi.as_view(), name="api-swap-notices"),
    path(
        "depicted-withdrawals",
        apis.DepictedWithdrawalApi.as_view(),
        name="api-depicted-withdrawals",
    ),
    path("made-here", apis.MarkCheckApi.as_view(), name="api-mark-check"),
    path("swaps/<str:job_id>", apis.SwapDetailApi.as_view(), name="api-swap"),
    path("swaps/<str:job_id>/result", apis.SwapResultApi.as_view(), name="api-swap-result"),
]
