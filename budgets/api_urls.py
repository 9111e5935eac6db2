from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

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
    *router.urls,
]
