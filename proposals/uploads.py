"""Where uploaded files are stored and who may fetch them.

Every upload gets a random name (``<folder>/<token>.<ext>``): nothing of the name the file had on
the resident's phone is kept, and a name cannot be guessed. Files are not served by a web server
from ``MEDIA_ROOT``: ``proposals.views.media`` serves each one only to whoever may see the idea,
project or update it belongs to (``selectors.media_visible``).
"""

import secrets
from pathlib import PurePosixPath

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
