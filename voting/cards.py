"""The printed access codes: the zip an official downloads once, with ``codes.csv`` and ``codes.pdf``
(one card per code). Apart from ``verification`` so that ReportLab is loaded by the pages that print
cards, not by every process that verifies voters (the worker, the management commands)."""

import csv
import io
import zipfile
from datetime import datetime

from django.utils.translation import gettext_lazy as _
from reportlab.lib.pagesizes import letter
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from budgets.models import District
from core import times

MSG_CARD_HOW = _("Vote online and enter this code.")


def access_codes_bundle(*, district: District, codes: list[str], expires_at: datetime) -> bytes:
    """A zip with ``codes.csv`` and ``codes.pdf`` (one card per code) for printing."""
    cycle = district.cycle
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["district", "code", "expires"])
    expires_local = times.local(expires_at, cycle).isoformat()  # the cycle's wall clock, with its offset
    for code in codes:
        writer.writerow([district.code, code, expires_local])
    valid_until = times.single_stop(_("Valid until %(when)s.") % {"when": times.format_datetime(expires_at, cycle)})
    pdf = io.BytesIO()
    page = canvas.Canvas(pdf, pagesize=letter, invariant=1)
    per_page, width, height = 8, letter[0], letter[1]
    for index, code in enumerate(codes):
        if index and index % per_page == 0:
            page.showPage()
        slot = index % per_page
        x = inch * 0.75 + (slot % 2) * (width / 2)
        y = height - inch * (1.2 + (slot // 2) * 2.4)
        page.setFont("Helvetica-Bold", 12)
        page.drawString(x, y, f"{cycle.name} — {district.name}")
        page.setFont("Helvetica", 10)
        page.drawString(x, y - 16, "Your one-time voting code / Su código de votación:")
        page.setFont("Courier-Bold", 18)
        page.drawString(x, y - 42, code)
        size = 9  # the line fits the card's width whatever the language
        while size > 6 and stringWidth(valid_until, "Helvetica", size) > width / 2 - inch:
            size -= 0.5
        page.setFont("Helvetica", size)
        page.drawString(x, y - 60, valid_until)
        page.setFont("Helvetica", 9)
        page.drawString(x, y - 72, str(MSG_CARD_HOW))
    page.save()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("codes.csv", text.getvalue())
        bundle.writestr("codes.pdf", pdf.getvalue())
    return out.getvalue()
