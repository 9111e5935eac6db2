from django.urls import path

from .api import ideas, projects, vetting

urlpatterns = [
    # Ideas: public reads and residents' actions.
    path("cycles/<slug:slug>/ideas/", ideas.CycleIdeasView.as_view(), name="idea-list"),
    path("ideas/<int:pk>/", ideas.IdeaDetailView.as_view(), name="idea-detail"),
    path("ideas/<int:pk>/withdraw/", ideas.IdeaWithdrawView.as_view(), name="idea-withdraw"),
    path("ideas/<int:pk>/endorsement/", ideas.IdeaEndorsementView.as_view(), name="idea-endorsement"),
    path("ideas/<int:pk>/comments/", ideas.IdeaCommentView.as_view(), name="idea-comments"),
    path("ideas/<int:pk>/follow/", ideas.IdeaFollowView.as_view(), name="idea-follow"),
    path("ideas/<int:pk>/report/", ideas.IdeaReportView.as_view(), name="idea-report"),
    # Vetting (staff).
    path("cycles/<slug:slug>/vetting/ideas/", vetting.VettingQueueView.as_view(), name="vetting-queue"),
    path(
        "cycles/<slug:slug>/vetting/decisions/publish/",
        vetting.ReviewPublishManyView.as_view(),
        name="vetting-decisions-publish",
    ),
    path("ideas/<int:pk>/review/", vetting.ReviewRecordView.as_view(), name="idea-review"),
    path("ideas/<int:pk>/review/publish/", vetting.ReviewPublishView.as_view(), name="idea-review-publish"),
    path("ideas/<int:pk>/review/assign/", vetting.ReviewAssignView.as_view(), name="idea-review-assign"),
    path("ideas/<int:pk>/hide/", vetting.IdeaHideView.as_view(), name="idea-hide"),
    path("comments/<int:pk>/hide/", vetting.CommentHideView.as_view(), name="comment-hide"),
    # Projects.
    path("cycles/<slug:slug>/projects/", projects.CycleProjectsView.as_view(), name="project-list"),
    path("cycles/<slug:slug>/projects/publish/", projects.ProjectPublishView.as_view(), name="project-publish"),
    path("projects/<int:pk>/", projects.ProjectDetailView.as_view(), name="project-detail"),
]
