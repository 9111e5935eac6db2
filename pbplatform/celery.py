"""The Celery app, wired the standard way: configuration from Django settings (CELERY_*)."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pbplatform.settings.local")

app = Celery("pbplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _broker_folders(sender, **kwargs):
    """The embedded broker (no Redis): kombu's filesystem transport expects its folders to exist."""
    if sender.conf.broker_url.startswith("filesystem://"):
        for option in ("data_folder_in", "data_folder_out", "control_folder"):
            Path(sender.conf.broker_transport_options[option]).mkdir(parents=True, exist_ok=True)
