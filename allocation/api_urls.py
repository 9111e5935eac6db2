from django.urls import path

from . import api

urlpatterns = [
    path("cycles/<slug:slug>/results/", api.CycleResultsView.as_view(), name="api-cycle-results"),
    path("cycles/<slug:slug>/results/<slug:code>/", api.DistrictResultsView.as_view(), name="api-district-results"),
    path("cycles/<slug:slug>/participation/", api.ParticipationView.as_view(), name="api-cycle-participation"),
]
