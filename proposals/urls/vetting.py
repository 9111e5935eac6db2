from django.urls import path

from ..views import vetting as views

urlpatterns = [
    path("staff/cycles/<slug:slug>/vetting/", views.vetting_queue, name="vetting_queue"),
    path("staff/cycles/<slug:slug>/decisions/", views.vetting_decisions, name="vetting_decisions"),
    path("staff/ideas/<int:pk>/", views.vetting_idea, name="vetting_idea"),
    path("staff/ideas/<int:pk>/assign/", views.vetting_idea_assign, name="vetting_idea_assign"),
    path("staff/ideas/<int:pk>/review/", views.vetting_idea_review, name="vetting_idea_review"),
    path("staff/ideas/<int:pk>/publish/", views.vetting_idea_publish, name="vetting_idea_publish"),
    path("staff/ideas/<int:pk>/hide/", views.vetting_idea_hide, name="vetting_idea_hide"),
    path(
        "staff/cycles/<slug:slug>/paper-ideas/new/", views.vetting_paper_idea_create, name="vetting_paper_idea_create"
    ),
    path("staff/cycles/<slug:slug>/projects/", views.vetting_project_list, name="vetting_project_list"),
    path("staff/cycles/<slug:slug>/projects/publish/", views.vetting_project_publish, name="vetting_project_publish"),
    path("staff/cycles/<slug:slug>/projects/new/", views.vetting_project_create, name="vetting_project_create"),
    path("staff/projects/<int:pk>/edit/", views.vetting_project_edit, name="vetting_project_edit"),
    path("staff/cycles/<slug:slug>/categories/", views.vetting_category_list, name="vetting_category_list"),
    path("staff/cycles/<slug:slug>/reports/", views.vetting_report_list, name="vetting_report_list"),
    path("staff/cycles/<slug:slug>/reports/<int:pk>/hide/", views.vetting_report_hide, name="vetting_report_hide"),
]
