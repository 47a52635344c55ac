from django.urls import path

from swap import views

app_name = "swap"

urlpatterns = [
    path("swaps/", views.swaps_view, name="swaps"),
    path("swaps/<str:job_id>/delete/", views.swap_delete_view, name="swap_delete"),
    path("depicted/withdraw/", views.depicted_withdraw_view, name="depicted_withdraw"),
    path("made-here/", views.mark_check_view, name="mark_check"),
]
