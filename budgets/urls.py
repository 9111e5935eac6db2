from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("cycles/<slug:slug>/", views.cycle_detail, name="cycle_detail"),
    path("staff/", views.staff_home, name="staff_home"),
    path("staff/cycles/", views.staff_cycle_list, name="staff_cycle_list"),
    path("staff/cycles/new/", views.staff_cycle_create, name="staff_cycle_create"),
    path("staff/cycles/<slug:slug>/", views.staff_cycle_detail, name="staff_cycle_detail"),
    path("staff/cycles/<slug:slug>/edit/", views.staff_cycle_edit, name="staff_cycle_edit"),
    path("staff/cycles/<slug:slug>/advance/", views.staff_cycle_advance, name="staff_cycle_advance"),
    path("staff/cycles/<slug:slug>/extend-voting/", views.staff_voting_extend, name="staff_voting_extend"),
    path("staff/cycles/<slug:slug>/pause-voting/", views.staff_voting_pause, name="staff_voting_pause"),
    path("staff/cycles/<slug:slug>/resume-voting/", views.staff_voting_resume, name="staff_voting_resume"),
]
