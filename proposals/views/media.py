"""Uploaded files (idea photos, project images, update photos), served only to whoever may see the
idea, project or update they belong to. Nothing else serves ``MEDIA_ROOT`` (see docs/deployment.md):
a hidden or withdrawn idea's photo is a 404 for the public, as its page is."""

import mimetypes
import posixpath

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.views.decorators.http import require_safe

from .. import selectors

# Never cached by shared caches: a photo hidden by a moderator must stop being served at once.
CACHE_CONTROL = "private, no-cache"


@require_safe
def media_file(request, name: str):
    name = posixpath.normpath(name).lstrip("/")
    # A NUL byte names no file and cannot be looked up (PostgreSQL refuses it in a string).
    if "\x00" in name or name.startswith("..") or not selectors.media_visible(name=name, user=request.user):
        raise Http404
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    accel = getattr(settings, "PB_MEDIA_ACCEL_REDIRECT", "")
    if accel:
        # The front web server sends the file from an internal-only location (nginx X-Accel-Redirect).
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = f"{accel.rstrip('/')}/{name}"
    else:
        try:
            handle = default_storage.open(name, "rb")
        except (FileNotFoundError, OSError) as exc:
            raise Http404 from exc
        response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response
