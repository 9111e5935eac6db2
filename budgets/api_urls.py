from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, api_results

router = SimpleRouter()
router.register("cycles", api.CycleViewSet, basename="cycle")

urlpatterns = [
    path("phases/", api.PhaseListView.as_view(), name="phase-list"),
    path("cycles/<slug:slug>/transition/", api.CycleTransitionView.as_view(), name="cycle-transition"),
    path(
        "cycles/<slug:cycle_slug>/districts/",
        api.DistrictViewSet.as_view({"get": "list"}),
        name="district-list",
    ),
    path(
        "cycles/<slug:cycle_slug>/districts/<str:code>/",
        api.DistrictViewSet.as_view({"get": "retrieve"}),
        name="district-detail",
    ),
    path("cycles/<slug:slug>/results/", api_results.CycleResultsView.as_view(), name="api-cycle-results"),
    path(
        "cycles/<slug:slug>/results/<slug:code>/",
        api_results.DistrictResultsView.as_view(),
        name="api-district-results",
    ),
    path(
        "cycles/<slug:slug>/participation/",
        api_results.ParticipationView.as_view(),
        name="api-cycle-participation",
    ),
    *router.urls,
]
