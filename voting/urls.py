from django.urls import path

from . import views, views_kiosk, views_paper, views_review

urlpatterns = [
    path("cycles/<slug:slug>/vote/", views.vote_index, name="vote_index"),
    path("cycles/<slug:slug>/vote/code/", views.vote_code, name="vote_code"),
    path("cycles/<slug:slug>/vote/phone/", views.vote_phone, name="vote_phone"),
    path("cycles/<slug:slug>/vote/<slug:code>/", views.vote_ballot, name="vote_ballot"),
    path("receipt/", views.receipt, name="receipt"),
    path("staff/cycles/<slug:slug>/ballot/", views.staff_ballot, name="staff_ballot"),
    path("staff/cycles/<slug:slug>/turnout/", views.staff_turnout, name="staff_turnout"),
    path("staff/cycles/<slug:slug>/access-codes/", views.staff_access_codes, name="staff_access_codes"),
    path("staff/cycles/<slug:slug>/provisional/", views_review.staff_provisional, name="staff_provisional"),
    path(
        "staff/cycles/<slug:slug>/provisional/<int:pk>/accept/",
        views_review.staff_provisional_accept,
        name="staff_provisional_accept",
    ),
    path(
        "staff/cycles/<slug:slug>/provisional/<int:pk>/reject/",
        views_review.staff_provisional_reject,
        name="staff_provisional_reject",
    ),
    path("staff/cycles/<slug:slug>/duplicates/", views_review.staff_duplicates, name="staff_duplicates"),
    path(
        "staff/cycles/<slug:slug>/duplicates/decide/",
        views_review.staff_duplicate_decide,
        name="staff_duplicate_decide",
    ),
    path("cycles/<slug:slug>/paper/batches/", views_paper.paper_batch_list, name="paper_batch_list"),
    path("cycles/<slug:slug>/paper/batches/new/", views_paper.paper_batch_create, name="paper_batch_create"),
    path("cycles/<slug:slug>/paper/batches/<int:batch_id>/", views_paper.paper_batch_detail, name="paper_batch_detail"),
    path(
        "cycles/<slug:slug>/paper/batches/<int:batch_id>/pass/<int:pass_no>/",
        views_paper.paper_sheet_key,
        name="paper_sheet_key",
    ),
    path(
        "cycles/<slug:slug>/paper/batches/<int:batch_id>/mismatches/",
        views_paper.paper_mismatches,
        name="paper_mismatches",
    ),
    path(
        "cycles/<slug:slug>/paper/batches/<int:batch_id>/counts/",
        views_paper.paper_batch_counts,
        name="paper_batch_counts",
    ),
    path(
        "cycles/<slug:slug>/paper/batches/<int:batch_id>/reconcile/",
        views_paper.paper_batch_reconcile,
        name="paper_batch_reconcile",
    ),
    path("cycles/<slug:slug>/paper/<slug:code>/", views_paper.paper_ballot, name="paper_ballot"),
    path("staff/cycles/<slug:slug>/sites/", views_kiosk.staff_sites, name="staff_sites"),
    path("cycles/<slug:slug>/kiosk/", views_kiosk.kiosk_start, name="kiosk_start"),
    path("cycles/<slug:slug>/kiosk/ballot/", views_kiosk.kiosk_ballot, name="kiosk_ballot"),
    path("cycles/<slug:slug>/kiosk/reset/", views_kiosk.kiosk_reset, name="kiosk_reset"),
    path("cycles/<slug:slug>/kiosk/alive/", views_kiosk.kiosk_alive, name="kiosk_alive"),
    path("cycles/<slug:slug>/kiosk/close/", views_kiosk.kiosk_close, name="kiosk_close"),
]
