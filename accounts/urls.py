from django.urls import path

from . import views

urlpatterns = [
    path("preferences/", views.preferences, name="account_preferences"),
    path("name/", views.name, name="account_name"),
    path("staff/", views.staff_roles, name="staff_roles"),
    path("staff/grant/", views.staff_role_grant, name="staff_role_grant"),
    path("staff/revoke/", views.staff_role_revoke, name="staff_role_revoke"),
]
