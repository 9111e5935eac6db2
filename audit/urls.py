from django.urls import path

from . import views

urlpatterns = [
    path("audit/", views.audit_index, name="audit_index"),
    path("audit/cycles/<slug:slug>/", views.audit_cycle, name="audit_cycle"),
    path("audit/cycles/<slug:slug>/receipt/", views.audit_receipt, name="audit_receipt"),
    path("audit/bundles/<int:pk>/download/", views.audit_bundle_download, name="audit_bundle_download"),
    path("staff/cycles/<slug:slug>/void-ballot/", views.staff_ballot_void, name="staff_ballot_void"),
    path("cycles/<slug:slug>/record/", views.public_record, name="public_record"),
    path("cycles/<slug:slug>/record/<int:pk>/status/", views.public_record_status, name="public_record_status"),
    path("cycles/<slug:slug>/record/<int:pk>/download/", views.public_record_download, name="public_record_download"),
]
