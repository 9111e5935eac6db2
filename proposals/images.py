"""Uploaded photos: checked by content (not by name), size-limited, re-encoded without metadata."""

import io

from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MSG_NOT_AN_IMAGE = _("The file is not an image we can use. Upload a JPEG, PNG or WebP photo.")
MSG_TOO_LARGE = _("The photo is too large: the limit is 5 MB.")


def image_clean(upload, *, field: str = "photo") -> ContentFile:
    """Return the image re-encoded from its pixels alone (EXIF, GPS and other metadata dropped).

    Raises ``ValidationFailed`` ({field: [message]}) for non-images, unsupported types and
    oversized files."""
    # Imported on first use: Pillow is a good part of a process's start-up, and only uploads need it
    # (bench/README.md, "Tally command").
    from PIL import Image, ImageOps, UnidentifiedImageError

    if upload.size is not None and upload.size > MAX_BYTES:
        raise ValidationFailed(extra={field: [MSG_TOO_LARGE]})
    data = upload.read()
    if len(data) > MAX_BYTES:
        raise ValidationFailed(extra={field: [MSG_TOO_LARGE]})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        fmt = image.format
        if fmt not in ALLOWED_FORMATS or image.width * image.height > MAX_PIXELS:
            raise ValidationFailed(extra={field: [MSG_NOT_AN_IMAGE]})
        image = ImageOps.exif_transpose(image)  # keep the orientation the EXIF described
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA")
        # A new image from the pixels alone: no EXIF, GPS, XMP or ICC data comes along.
        clean = Image.frombytes(image.mode, image.size, image.tobytes())
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValidationFailed(extra={field: [MSG_NOT_AN_IMAGE]}) from exc
    out = io.BytesIO()
    if fmt == "JPEG" and clean.mode not in ("RGB", "L"):
        clean = clean.convert("RGB")
    clean.save(out, format=fmt)
    return ContentFile(out.getvalue(), name=f"photo.{ALLOWED_FORMATS[fmt]}")
