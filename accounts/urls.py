from django.urls import path

from . import views

urlpatterns = [
    path("preferences/", views.preferences, name="account_preferences"),
    path("name/", views.name, name="account_name"),
]
