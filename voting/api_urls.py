from django.urls import path

from . import api

urlpatterns = [
    path("cycles/<slug:slug>/ballots/", api.BallotListView.as_view(), name="ballot-list"),
    path("cycles/<slug:slug>/ballots/<str:code>/", api.BallotDetailView.as_view(), name="ballot-detail"),
    path("cycles/<slug:slug>/ballots/<str:code>/cast/", api.BallotCastView.as_view(), name="ballot-cast"),
    path("receipts/check/", api.ReceiptCheckView.as_view(), name="receipt-check"),
]
