"""A device in kiosk mode stays on the kiosk's pages (voting/views/kiosk.py).

The kiosk runs in the logged-in session of the volunteer who opened it; while it is open, every
other page of the site — the volunteer's account, the staff areas, the API, logging out — answers
with the kiosk's start page. Only the volunteer's PIN closes the kiosk, and closing logs the device
out.
"""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from budgets.models import Cycle

KIOSK_PAGES = frozenset({"kiosk_start", "kiosk_ballot", "kiosk_reset", "kiosk_alive", "kiosk_close"})
SESSION_KIOSK = "pb_kiosk"


class KioskLockMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.open_prefixes = tuple(p for p in (settings.STATIC_URL, settings.MEDIA_URL) if p)

    def __call__(self, request):
        session = getattr(request, "session", None)
        opened = session.get(SESSION_KIOSK) if session is not None else None
        if isinstance(opened, dict) and not request.path.startswith(self.open_prefixes):
            slug = Cycle.objects.filter(pk=opened.get("cycle_id")).values_list("slug", flat=True).first()
            if slug is not None and not self._kiosk_page(request.path_info, slug):
                return redirect("kiosk_start", slug=slug)
        return self.get_response(request)

    @staticmethod
    def _kiosk_page(path: str, slug: str) -> bool:
        try:
            match = resolve(path)
        except Resolver404:
            return False
        return match.url_name in KIOSK_PAGES and match.kwargs.get("slug") == slug
