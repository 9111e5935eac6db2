"""What the proposals services share: the checks of a form's fields, each adding its error to one
``FieldErrors`` so that a form shows every problem at once; notifications in the recipient's
language; the lock order of batches; and who follows an idea or a project.
"""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from budgets.models import Cycle, District
from core.errors import ValidationFailed
from core.services import notification_queue

from ..models import Category, Follow, Idea, Project

MSG_REQUIRED = _("This field is required.")
MSG_TOO_LONG = _("Please keep this under %(max)s characters (it has %(length)s).")
MSG_BAD_AMOUNT = _("Enter an amount as a number, e.g. 25000 or 25000.00.")
MSG_NEGATIVE = _("An amount cannot be negative.")
MSG_WRONG_DISTRICT = _("Choose a district of this cycle.")
MSG_WRONG_CATEGORY = _("Choose a category of this cycle.")
MSG_BAD_LANGUAGE = _("Choose one of the listed languages.")
MSG_BAD_COORDINATES = _("The map point is not valid.")
MSG_NO_IDEAS = _("Choose at least one idea.")


# --- validation helpers ----------------------------------------------------------------------------
class FieldErrors:
    """A form's worth of field errors: each check adds to it, ``raise_if_any`` raises them all at once
    as one ``ValidationFailed``."""

    def __init__(self):
        self.errors: dict[str, list] = {}

    def add(self, field, message):
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self):
        if self.errors:
            raise ValidationFailed(extra=self.errors)


def text_clean(errors: FieldErrors, field: str, value, *, max_length: int, required: bool = True) -> str:
    """``value`` stripped; a missing (when ``required``) or too long text adds its error to ``errors``."""
    value = (value or "").strip()
    if required and not value:
        errors.add(field, MSG_REQUIRED)
    if len(value) > max_length:
        errors.add(field, MSG_TOO_LONG % {"max": max_length, "length": len(value)})
    return value


def amount_clean(errors: FieldErrors, field: str, value, *, required: bool = False) -> Decimal | None:
    if value in (None, ""):
        if required:
            errors.add(field, MSG_REQUIRED)
        return None
    try:
        amount = Decimal(str(value).replace(",", "").replace("$", "").strip()).quantize(Decimal("0.01"))
        if not amount.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors.add(field, MSG_BAD_AMOUNT)
        return None
    if amount < 0:
        errors.add(field, MSG_NEGATIVE)
        return None
    if amount >= Decimal("1e12"):
        errors.add(field, MSG_BAD_AMOUNT)
        return None
    return amount


def coordinates_clean(errors: FieldErrors, latitude, longitude) -> tuple[Decimal | None, Decimal | None]:
    if latitude in (None, "") and longitude in (None, ""):
        return None, None
    try:
        lat = Decimal(str(latitude)).quantize(Decimal("0.000001"))
        lng = Decimal(str(longitude)).quantize(Decimal("0.000001"))
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ValueError
    except (InvalidOperation, ValueError, TypeError):
        errors.add("location", MSG_BAD_COORDINATES)
        return None, None
    return lat, lng


def language_clean(errors: FieldErrors, value) -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    if value not in codes:
        errors.add("language", MSG_BAD_LANGUAGE)
        return codes[0]
    return value


def district_clean(errors: FieldErrors, cycle: Cycle, district) -> District | None:
    pk = district.pk if isinstance(district, District) else district
    found = District.objects.filter(cycle=cycle, pk=pk).first() if pk else None
    if found is None:
        errors.add("district", MSG_WRONG_DISTRICT)
    return found


def category_clean(errors: FieldErrors, cycle: Cycle, category) -> Category | None:
    if category in (None, ""):
        return None
    pk = category.pk if isinstance(category, Category) else category
    found = Category.objects.filter(cycle=cycle, pk=pk).first()
    if found is None:
        errors.add("category", MSG_WRONG_CATEGORY)
    return found


def user_notify(user, kind: str, subject: str, body: str, /, **params) -> None:
    """Queue a notification rendered in the recipient's language. Positional-only, so a message
    may use ``%(kind)s`` (or any other name) as a parameter."""
    if user is None:
        return
    with translation.override(getattr(user, "language", None) or "en"):
        # Lazy parameters (labels) render here, in the recipient's language.
        params = {k: str(v) for k, v in params.items()}
        notification_queue(recipient=user, kind=kind, subject=gettext(subject) % params, body=gettext(body) % params)


# --- batches and followers -------------------------------------------------------------------------
def cycle_locked(cycle: Cycle | int) -> Cycle:
    """The cycle's row, locked (``SELECT … FOR UPDATE``): first in every batch, so batches queue."""
    return Cycle.objects.select_for_update().get(pk=cycle.pk if isinstance(cycle, Cycle) else cycle)


def sorted_ids(items) -> list[int]:
    """Ids of objects or ids, once each, in ascending order (the order rows are locked in)."""
    return sorted({item.pk if hasattr(item, "pk") else int(item) for item in items or []})


def locked_in_id_order(model, ids: list[int]) -> dict:
    """``{id: row}`` of ``model`` (an idea or a project, with its cycle and district), each row locked,
    in id order — the same order as every other batch, so two batches cannot deadlock."""
    rows = model.objects.select_for_update().select_related("cycle", "district").filter(pk__in=ids).order_by("pk")
    return {row.pk: row for row in rows}


def followers(*, idea: Idea | None = None, project: Project | None = None) -> list:
    """Who hears about ``idea`` (its author and followers) or ``project`` (its followers): active
    accounts, each once, in id order."""
    User = get_user_model()
    if idea is not None:
        ids = set(Follow.objects.filter(idea=idea).values_list("user_id", flat=True))
        if idea.author_id:
            ids.add(idea.author_id)
    else:
        ids = set(Follow.objects.filter(project=project).values_list("user_id", flat=True))
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))
