"""Where uploaded files are stored and who may fetch them.

Every upload gets a random name (``<folder>/<token>.<ext>``): nothing of the name the file had on
the resident's phone is kept, and a name cannot be guessed. Files are not served by a web server
from ``MEDIA_ROOT``: ``proposals.views.media`` serves each one only to whoever may see the idea,
project or update it belongs to (``selectors.media_visible``).
"""

import re
import secrets
from pathlib import PurePosixPath

from django.apps import apps
from django.db import transaction
from django.utils.deconstruct import deconstructible

from .images import ALLOWED_FORMATS

EXTENSIONS = frozenset(ALLOWED_FORMATS.values())
TOKEN_BYTES = 24  # 192 random bits, 32 characters in the name


@deconstructible
class RandomName:
    """``upload_to``: a random name in ``folder``, with the extension kept only when it is one of
    the image types ``images.image_clean`` writes (it names every file it re-encodes)."""

    def __init__(self, folder: str):
        self.folder = folder.strip("/")

    def __call__(self, instance, filename: str) -> str:
        extension = PurePosixPath(filename or "").suffix.lower().lstrip(".")
        suffix = f".{extension}" if extension in EXTENSIONS else ""
        return f"{self.folder}/{secrets.token_urlsafe(TOKEN_BYTES)}{suffix}"

    def __eq__(self, other):
        return isinstance(other, RandomName) and other.folder == self.folder

    def __hash__(self):
        return hash(self.folder)


idea_photo_name = RandomName("ideas")
project_image_name = RandomName("projects")
update_photo_name = RandomName("updates")

# The file fields that hold uploads, as (app label, model, field).
UPLOAD_FIELDS = (
    ("proposals", "Idea", "photo"),
    ("proposals", "Project", "image"),
    ("proposals", "ProjectUpdate", "photo"),
)
_RANDOM_NAME = re.compile(r"^[a-z]+/[A-Za-z0-9_-]{32}(\.[a-z]+)?$")


def is_random_name(name: str) -> bool:
    return bool(_RANDOM_NAME.match(name or ""))


def uploads_rename() -> int:
    """Give every stored upload whose name is not random yet (the dated, original-name scheme of
    earlier releases) a random one: the file is copied under the new name, the row updated, and the
    old file deleted once the row is committed. Idempotent; returns how many files were renamed."""
    renamed = 0
    for label, model_name, field_name in UPLOAD_FIELDS:
        model = apps.get_model(label, model_name)
        field = model._meta.get_field(field_name)
        for pk, name in model.objects.exclude(**{field_name: ""}).values_list("pk", field_name):
            if is_random_name(name) or not field.storage.exists(name):
                continue
            with transaction.atomic():
                row = model.objects.select_for_update().filter(pk=pk, **{field_name: name}).first()
                if row is None:
                    continue
                with field.storage.open(name, "rb") as old:
                    new = field.storage.save(field.generate_filename(row, name), old)
                model.objects.filter(pk=pk).update(**{field_name: new})
                transaction.on_commit(lambda name=name, storage=field.storage: storage.delete(name))
            renamed += 1
    return renamed
