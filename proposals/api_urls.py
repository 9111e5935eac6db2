from django.urls import path

from .api import common as api

urlpatterns = [
    # Ideas: public reads and residents' actions.
    path("cycles/<slug:slug>/ideas/", api.CycleIdeasView.as_view(), name="idea-list"),
    path("ideas/<int:pk>/", api.IdeaDetailView.as_view(), name="idea-detail"),
    path("ideas/<int:pk>/withdraw/", api.IdeaWithdrawView.as_view(), name="idea-withdraw"),
    path("ideas/<int:pk>/endorsement/", api.IdeaEndorsementView.as_view(), name="idea-endorsement"),
    path("ideas/<int:pk>/comments/", api.IdeaCommentView.as_view(), name="idea-comments"),
    path("ideas/<int:pk>/follow/", api.IdeaFollowView.as_view(), name="idea-follow"),
    path("ideas/<int:pk>/report/", api.IdeaReportView.as_view(), name="idea-report"),
    # Vetting (staff).
    path("cycles/<slug:slug>/vetting/ideas/", api.VettingQueueView.as_view(), name="vetting-queue"),
    path(
        "cycles/<slug:slug>/vetting/decisions/publish/",
        api.ReviewPublishManyView.as_view(),
        name="vetting-decisions-publish",
    ),
    path("ideas/<int:pk>/review/", api.ReviewRecordView.as_view(), name="idea-review"),
    path("ideas/<int:pk>/review/publish/", api.ReviewPublishView.as_view(), name="idea-review-publish"),
    path("ideas/<int:pk>/review/assign/", api.ReviewAssignView.as_view(), name="idea-review-assign"),
    path("ideas/<int:pk>/hide/", api.IdeaHideView.as_view(), name="idea-hide"),
    path("comments/<int:pk>/hide/", api.CommentHideView.as_view(), name="comment-hide"),
    # Projects.
    path("cycles/<slug:slug>/projects/", api.CycleProjectsView.as_view(), name="project-list"),
    path("cycles/<slug:slug>/projects/publish/", api.ProjectPublishView.as_view(), name="project-publish"),
    path("projects/<int:pk>/", api.ProjectDetailView.as_view(), name="project-detail"),
]
