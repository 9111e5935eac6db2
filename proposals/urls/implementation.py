from django.urls import path

from ..views import implementation as views

urlpatterns = [
    path("staff/projects/<int:pk>/updates/", views.staff_project_updates, name="staff_project_updates"),
]
