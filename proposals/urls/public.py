from django.urls import path

from ..views import public as views

urlpatterns = [
    path("cycles/<slug:slug>/ideas/", views.idea_list, name="idea_list"),
    path("cycles/<slug:slug>/ideas/new/", views.idea_submit, name="idea_submit"),
    path("cycles/<slug:slug>/projects/", views.project_list, name="project_list"),
    path("ideas/<int:pk>/", views.idea_detail, name="idea_detail"),
    path("ideas/<int:pk>/edit/", views.idea_edit, name="idea_edit"),
    path("ideas/<int:pk>/withdraw/", views.idea_withdraw, name="idea_withdraw"),
    path("ideas/<int:pk>/endorse/", views.idea_endorse, name="idea_endorse"),
    path("ideas/<int:pk>/follow/", views.idea_follow, name="idea_follow"),
    path("ideas/<int:pk>/comments/", views.idea_comment, name="idea_comment"),
    path("ideas/<int:pk>/report/", views.idea_report, name="idea_report"),
    path("comments/<int:pk>/report/", views.comment_report, name="comment_report"),
    path("projects/<int:pk>/", views.project_detail, name="project_detail"),
    path("projects/<int:pk>/follow/", views.project_follow, name="project_follow"),
    path("me/ideas/", views.my_ideas, name="my_ideas"),
]
