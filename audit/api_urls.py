from django.urls import path

from . import api

urlpatterns = [
    path("audit/cycles/<slug:slug>/bundles/", api.BundleListView.as_view(), name="api-audit-bundle-list"),
    path("audit/bundles/<int:pk>/", api.BundleDetailView.as_view(), name="api-audit-bundle-detail"),
    path("audit/bundles/<int:pk>/download/", api.BundleDownloadView.as_view(), name="api-audit-bundle-download"),
    path("audit/cycles/<slug:slug>/receipts/", api.ReceiptLookupView.as_view(), name="api-audit-receipt-lookup"),
    path("audit/cycles/<slug:slug>/void-ballot/", api.BallotVoidView.as_view(), name="api-audit-ballot-void"),
    path("cycles/<slug:slug>/record/", api.PublicRecordView.as_view(), name="api-public-record"),
    path(
        "cycles/<slug:slug>/record/<int:pk>/download/",
        api.PublicRecordDownloadView.as_view(),
        name="api-public-record-download",
    ),
]
