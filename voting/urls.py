from django.urls import path

from . import views

urlpatterns = [
    path("cycles/<slug:slug>/vote/", views.vote_index, name="vote_index"),
    path("cycles/<slug:slug>/vote/code/", views.vote_code, name="vote_code"),
    path("cycles/<slug:slug>/vote/phone/", views.vote_phone, name="vote_phone"),
    path("cycles/<slug:slug>/vote/<slug:code>/", views.vote_ballot, name="vote_ballot"),
    path("receipt/", views.receipt, name="receipt"),
    path("staff/cycles/<slug:slug>/ballot/", views.staff_ballot, name="staff_ballot"),
    path("staff/cycles/<slug:slug>/turnout/", views.staff_turnout, name="staff_turnout"),
    path("staff/cycles/<slug:slug>/access-codes/", views.staff_access_codes, name="staff_access_codes"),
]
