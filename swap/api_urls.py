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
    path(
        "ephemeral-swaps/challenge",
        apis.EphemeralChallengeApi.as_view(),
        name="api-ephemeral-challenge",
    ),
    path("ephemeral-swaps", apis.EphemeralSwapApi.as_view(), name="api-ephemeral-swaps"),
    path(
        "swaps/<str:job_id>/share-links",
        apis.ShareLinkListApi.as_view(),
        name="api-share-links",
    ),
    path("share-links/<str:link_id>", apis.ShareLinkDetailApi.as_view(), name="api-share-link"),
    path("shared/<str:token>", apis.SharedResultApi.as_view(), name="api-shared"),
]
