from django.urls import path

from .views import ballot, kiosk, paper, review

urlpatterns = [
    path("cycles/<slug:slug>/vote/", ballot.vote_index, name="vote_index"),
    path("cycles/<slug:slug>/vote/code/", ballot.vote_code, name="vote_code"),
    path("cycles/<slug:slug>/vote/phone/", ballot.vote_phone, name="vote_phone"),
    path("cycles/<slug:slug>/vote/<slug:code>/", ballot.vote_ballot, name="vote_ballot"),
    path("receipt/", ballot.receipt, name="receipt"),
    path("staff/cycles/<slug:slug>/ballot/", ballot.staff_ballot, name="staff_ballot"),
    path("staff/cycles/<slug:slug>/turnout/", ballot.staff_turnout, name="staff_turnout"),
    path("staff/cycles/<slug:slug>/access-codes/", ballot.staff_access_codes, name="staff_access_codes"),
    path("staff/cycles/<slug:slug>/provisional/", review.staff_provisional, name="staff_provisional"),
    path(
        "staff/cycles/<slug:slug>/provisional/<int:pk>/accept/",
        review.staff_provisional_accept,
        name="staff_provisional_accept",
    ),
    path(
        "staff/cycles/<slug:slug>/provisional/<int:pk>/reject/",
        review.staff_provisional_reject,
        name="staff_provisional_reject",
    ),
    path("staff/cycles/<slug:slug>/duplicates/", review.staff_duplicates, name="staff_duplicates"),
    path(
        "staff/cycles/<slug:slug>/duplicates/decide/",
        review.staff_duplicate_decide,
        name="staff_duplicate_decide",
    ),
    path("cycles/<slug:slug>/paper/batches/", paper.paper_batch_list, name="paper_batch_list"),
    path("cycles/<slug:slug>/paper/batches/new/", paper.paper_batch_create, name="paper_batch_create"),
    path("cycles/<slug:slug>/paper/batches/<int:batch_id>/", paper.paper_batch_detail, name="paper_batch_detail"),
    path(
        "cycles/<slug:slug>/paper/batches/<int:batch_id>/pass/<int:pass_no>/",
        paper.paper_sheet_key,
        name="paper_sheet_key",
    ),
    path(
        "cycles/<slug:slug>/paper/batches/<int:batch_id>/mismatches/",
        paper.paper_mismatches,
        name="paper_mismatches",
    ),
    path(
        "cycles/<slug:slug>/paper/batches/<int:batch_id>/counts/",
        paper.paper_batch_counts,
        name="paper_batch_counts",
    ),
    path(
        "cycles/<slug:slug>/paper/batches/<int:batch_id>/reconcile/",
        paper.paper_batch_reconcile,
        name="paper_batch_reconcile",
    ),
    path("cycles/<slug:slug>/paper/<slug:code>/", paper.paper_ballot, name="paper_ballot"),
    path("staff/cycles/<slug:slug>/sites/", kiosk.staff_sites, name="staff_sites"),
    path("cycles/<slug:slug>/kiosk/", kiosk.kiosk_start, name="kiosk_start"),
    path("cycles/<slug:slug>/kiosk/ballot/", kiosk.kiosk_ballot, name="kiosk_ballot"),
    path("cycles/<slug:slug>/kiosk/reset/", kiosk.kiosk_reset, name="kiosk_reset"),
    path("cycles/<slug:slug>/kiosk/alive/", kiosk.kiosk_alive, name="kiosk_alive"),
    path("cycles/<slug:slug>/kiosk/close/", kiosk.kiosk_close, name="kiosk_close"),
]
