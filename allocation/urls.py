from django.urls import path

from .views import results, tally

urlpatterns = [
    path("cycles/<slug:slug>/results/", results.cycle_results, name="cycle_results"),
    path("cycles/<slug:slug>/results/<slug:code>/", results.district_results, name="district_results"),
    path("staff/cycles/<slug:slug>/ballot/preview/", tally.staff_ballot_preview, name="staff_ballot_preview"),
    path("staff/cycles/<slug:slug>/tally/", tally.staff_tally, name="staff_tally"),
    path("staff/cycles/<slug:slug>/tally/run/", tally.staff_tally_run, name="staff_tally_run"),
    path("staff/cycles/<slug:slug>/tally/certify/", tally.staff_tally_certify, name="staff_tally_certify"),
    path("staff/cycles/<slug:slug>/tally/ties/", tally.staff_tally_tie_break, name="staff_tally_tie_break"),
    path("staff/cycles/<slug:slug>/tally/draw/", tally.staff_tally_draw, name="staff_tally_draw"),
    path("staff/cycles/<slug:slug>/tally/withdraw/<int:pk>/", tally.staff_tally_withdraw, name="staff_tally_withdraw"),
]
