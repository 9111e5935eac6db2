"""Ways to prove who you are without an account: printed access codes and phone
numbers verified by SMS. Codes are random (≥ 20 bits), single use, expire, are stored as keyed
hashes (HMAC-SHA256), and attempts and sends are rate-limited in PostgreSQL.

A successful check yields a :class:`VerifiedVoter` for the session; the vote itself is cast later
by ``cast.ballot_cast`` (which consumes an access code in the ballot's own transaction).
"""

import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from budgets.models import Cycle, District
from budgets.phases import Capability
from core.errors import ApplicationError, NotAllowed, PhaseClosed, ValidationFailed
from core.services import audit_record, notification_queue_sms
from core.sms import sms_enabled

from .. import crypto
from ..models import AccessCode, AccessCodeBatch, PhoneChallenge, VerificationAttempt
from ..permissions import check_official

SMS_CODE_DIGITS = 7  # 10^7 ≈ 2^23.3: at least 20 bits
SMS_CODE_TTL = timedelta(minutes=10)
SMS_CODE_KIND = "verification.sms_code"  # the outbox row's kind: sent once, erased, never after its lifetime
SMS_MAX_GUESSES = 5
SMS_SENDS_PER_PHONE_PER_HOUR = 3
SMS_SENDS_PER_CLIENT_PER_HOUR = 10
CODE_FAILURES_PER_CLIENT_PER_10_MIN = 10
MAX_BATCH = 20000


class TooManyAttempts(ApplicationError):
    status = 429
    code = "rate_limited"
    default_message = _("Too many attempts. Please wait a few minutes and try again.")


class SmsUnavailable(ApplicationError):
    status = 409
    code = "sms_unavailable"
    default_message = _("Phone verification is not available. Please vote with an account or an access code.")


MSG_CODE_INVALID = _("This code is not valid. Check it and try again.")
MSG_CODE_USED = _("This code has already been used.")
MSG_CODE_EXPIRED = _("This code has expired.")
MSG_PHONE_INVALID = _("Enter a US phone number with its area code, e.g. 201-555-0123.")
MSG_SMS_WRONG = _("That code is not right, or it has expired. You can ask for a new one.")
MSG_BATCH_SIZE = ngettext_lazy(
    "Generate between 1 and %(max)s code at a time.", "Generate between 1 and %(max)s codes at a time.", "max"
)
MSG_BATCH_EXPIRY = _("The expiry must be in the future.")
MSG_NOT_VOTING_SOON = _("Access codes can be made until voting closes.")


@dataclass(frozen=True)
class VerifiedVoter:
    """What the session keeps about a voter verified without an account (no code, no phone)."""

    identity_key: str
    channel: str
    verification: str
    district_id: int | None = None  # an access code is for one district
    access_code_hash: str = ""

    def as_session(self) -> dict:
        return asdict(self)


def _recent(kind: str, key_hash: str, *, window: timedelta, success: bool | None = None) -> int:
    qs = VerificationAttempt.objects.filter(kind=kind, key_hash=key_hash, at__gte=timezone.now() - window)
    if success is not None:
        qs = qs.filter(success=success)
    return qs.count()


def _note(kind: str, key_hash: str, success: bool) -> None:
    VerificationAttempt.objects.create(kind=kind, key_hash=key_hash, success=success)


# --- access codes ----------------------------------------------------------------------------------
@transaction.atomic
def access_codes_generate(*, actor, district: District, count: int, expires_at: datetime) -> list[str]:
    """Make ``count`` codes for ``district``; returns the codes (the only time they exist in clear)."""
    check_official(actor)
    cycle = Cycle.objects.select_for_update().get(pk=district.cycle_id)  # lock first, check second
    if not (cycle.allows(Capability.DESIGN_BALLOT) or cycle.allows(Capability.CAST_BALLOTS)):
        raise PhaseClosed(MSG_NOT_VOTING_SOON)
    if not isinstance(count, int) or not 1 <= count <= MAX_BATCH:
        raise ValidationFailed(extra={"count": [MSG_BATCH_SIZE % {"max": MAX_BATCH}]})
    if expires_at <= timezone.now():
        raise ValidationFailed(extra={"expires_at": [MSG_BATCH_EXPIRY]})
    batch = AccessCodeBatch.objects.create(
        district=district, size=count, expires_at=expires_at, created_by_id=getattr(actor, "pk", None)
    )
    codes, hashes = [], set()
    while len(codes) < count:
        code = crypto.code_new(groups=3, size=4)  # 60 bits
        digest = crypto.keyed_hash("access-code", crypto.code_normalize(code))
        if digest in hashes:
            continue
        hashes.add(digest)
        codes.append(code)
    AccessCode.objects.bulk_create(
        [AccessCode(batch=batch, district=district, code_hash=h, expires_at=expires_at) for h in hashes],
        batch_size=2000,
    )
    audit_record(
        actor=actor,
        action="access_codes.generated",
        object_type="district",
        object_id=district.pk,
        after={"batch": batch.pk, "count": count, "expires_at": expires_at},
    )
    return codes


def access_code_redeem(*, code: str, client_key: str) -> VerifiedVoter:
    """Check a printed code (without using it up: the ballot's transaction does that). The attempt
    is recorded (and committed) whether or not the code is good, so guessing is rate-limited."""
    client = crypto.keyed_hash("client", client_key)
    digest = crypto.keyed_hash("access-code", crypto.code_normalize(code))
    with transaction.atomic():
        failures = _recent(VerificationAttempt.Kind.ACCESS_CODE, client, window=timedelta(minutes=10), success=False)
        if failures >= CODE_FAILURES_PER_CLIENT_PER_10_MIN:
            raise TooManyAttempts()
        found = AccessCode.objects.filter(code_hash=digest).first()
        problem = None
        if found is None:
            problem = MSG_CODE_INVALID
        elif found.used_at is not None:
            problem = MSG_CODE_USED
        elif found.expires_at <= timezone.now():
            problem = MSG_CODE_EXPIRED
        _note(VerificationAttempt.Kind.ACCESS_CODE, client, problem is None)
    if problem is not None:
        raise _Refused(problem)
    return VerifiedVoter(
        identity_key=crypto.identity_key("code", digest),
        channel="code",
        verification="access_code",
        district_id=found.district_id,
        access_code_hash=digest,
    )


class _Refused(NotAllowed):
    code = "code_refused"


# --- phone numbers ------------------------------------------------------------------------------------
def phone_normalize(phone: str) -> str:
    """A US number in E.164 (+1XXXXXXXXXX), or ValidationFailed."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01":
        raise ValidationFailed(extra={"phone": [MSG_PHONE_INVALID]})
    return f"+1{digits}"


def phone_challenge_start(*, phone: str, client_key: str, language: str = "en") -> None:
    """Send a 7-digit code by SMS. Rate-limited per phone and per client. The SMS is an outbox row
    written in the challenge's transaction: no provider or broker call happens in the
    request; delivery is dispatched after commit and erases the code from the row once sent."""
    if not sms_enabled():
        raise SmsUnavailable()
    number = phone_normalize(phone)
    phone_hash = crypto.keyed_hash("phone", number)
    client = crypto.keyed_hash("client", client_key)
    with transaction.atomic():
        hour = timedelta(hours=1)
        if (
            _recent(VerificationAttempt.Kind.SMS_SEND, phone_hash, window=hour) >= SMS_SENDS_PER_PHONE_PER_HOUR
            or _recent(VerificationAttempt.Kind.SMS_SEND, client, window=hour) >= SMS_SENDS_PER_CLIENT_PER_HOUR
        ):
            raise TooManyAttempts()
        code = f"{secrets.randbelow(10**SMS_CODE_DIGITS):0{SMS_CODE_DIGITS}d}"
        expires_at = timezone.now() + SMS_CODE_TTL
        PhoneChallenge.objects.create(
            phone_hash=phone_hash,
            code_hash=crypto.keyed_hash("sms-code", f"{phone_hash}:{code}"),
            expires_at=expires_at,
        )
        _note(VerificationAttempt.Kind.SMS_SEND, phone_hash, True)
        _note(VerificationAttempt.Kind.SMS_SEND, client, True)
        with translation.override(language):
            text = str(_("Your pbplatform voting code is %(code)s. It expires in 10 minutes.")) % {"code": code}
        notification_queue_sms(phone=number, kind=SMS_CODE_KIND, body=text, expires_at=expires_at)


def phone_challenge_verify(*, phone: str, code: str, client_key: str) -> VerifiedVoter:
    number = phone_normalize(phone)
    phone_hash = crypto.keyed_hash("phone", number)
    client = crypto.keyed_hash("client", client_key)
    with transaction.atomic():
        if _recent(VerificationAttempt.Kind.SMS_CHECK, client, window=timedelta(minutes=10), success=False) >= (
            CODE_FAILURES_PER_CLIENT_PER_10_MIN
        ):
            raise TooManyAttempts()
        challenge = (
            PhoneChallenge.objects.select_for_update()
            .filter(phone_hash=phone_hash, verified_at__isnull=True, expires_at__gt=timezone.now())
            .order_by("-created_at")
            .first()
        )
        digits = re.sub(r"\D", "", code or "")
        expected = crypto.keyed_hash("sms-code", f"{phone_hash}:{digits}")
        ok = (
            challenge is not None
            and challenge.attempts < SMS_MAX_GUESSES
            and secrets.compare_digest(challenge.code_hash, expected)
        )
        if challenge is not None:
            challenge.attempts += 0 if ok else 1
            challenge.verified_at = timezone.now() if ok else None
            challenge.save(update_fields=["attempts", "verified_at"])
        _note(VerificationAttempt.Kind.SMS_CHECK, client, ok)
    if not ok:
        raise _Refused(MSG_SMS_WRONG)
    return VerifiedVoter(identity_key=crypto.identity_key("phone", number), channel="phone", verification="sms")
