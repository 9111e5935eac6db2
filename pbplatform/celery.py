"""The Celery app, wired the standard way: configuration from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pbplatform.settings.local")

app = Celery("pbplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
