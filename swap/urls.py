from django.urls import path

from swap import views

app_name = "swap"

urlpatterns = [
    path("swaps/", views.swaps_view, name="swaps"),
    path("swaps/once/", views.ephemeral_view, name="ephemeral"),
    path("swaps/<str:job_id>/delete/", views.swap_delete_view, name="swap_delete"),
    path("swaps/<str:job_id>/share/", views.share_create_view, name="share_create"),
    path("swaps/links/<str:link_id>/revoke/", views.share_revoke_view, name="share_revoke"),
    path("s/<str:token>/", views.shared_view, name="shared"),
    path("s/<str:token>/file/", views.shared_file_view, name="shared_file"),
    path("depicted/withdraw/", views.depicted_withdraw_view, name="depicted_withdraw"),
    path("made-here/", views.mark_check_view, name="mark_check"),
]
