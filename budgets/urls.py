from django.urls import path

from . import views, views_results, views_tally

urlpatterns = [
    path("", views.home, name="home"),
    path("cycles/<slug:slug>/", views.cycle_detail, name="cycle_detail"),
    path("cycles/<slug:slug>/results/", views_results.cycle_results, name="cycle_results"),
    path("cycles/<slug:slug>/results/<slug:code>/", views_results.district_results, name="district_results"),
    path("staff/", views.staff_home, name="staff_home"),
    path("staff/cycles/", views.staff_cycle_list, name="staff_cycle_list"),
    path("staff/cycles/new/", views.staff_cycle_create, name="staff_cycle_create"),
    path("staff/cycles/<slug:slug>/", views.staff_cycle_detail, name="staff_cycle_detail"),
    path("staff/cycles/<slug:slug>/edit/", views.staff_cycle_edit, name="staff_cycle_edit"),
    path("staff/cycles/<slug:slug>/advance/", views.staff_cycle_advance, name="staff_cycle_advance"),
    path("staff/cycles/<slug:slug>/extend-voting/", views.staff_voting_extend, name="staff_voting_extend"),
    path("staff/cycles/<slug:slug>/pause-voting/", views.staff_voting_pause, name="staff_voting_pause"),
    path("staff/cycles/<slug:slug>/resume-voting/", views.staff_voting_resume, name="staff_voting_resume"),
    path("staff/cycles/<slug:slug>/ballot/preview/", views_tally.staff_ballot_preview, name="staff_ballot_preview"),
    path("staff/cycles/<slug:slug>/tally/", views_tally.staff_tally, name="staff_tally"),
    path("staff/cycles/<slug:slug>/tally/run/", views_tally.staff_tally_run, name="staff_tally_run"),
    path("staff/cycles/<slug:slug>/tally/certify/", views_tally.staff_tally_certify, name="staff_tally_certify"),
    path("staff/cycles/<slug:slug>/tally/ties/", views_tally.staff_tally_tie_break, name="staff_tally_tie_break"),
    path("staff/cycles/<slug:slug>/tally/draw/", views_tally.staff_tally_draw, name="staff_tally_draw"),
    path(
        "staff/cycles/<slug:slug>/tally/withdraw/<int:pk>/",
        views_tally.staff_tally_withdraw,
        name="staff_tally_withdraw",
    ),
]
