"""Kiosks at voting sites: a volunteer opens a kiosk on a device at an active site,
checks each voter in, and the voter casts one ballot on that device.

The kiosk lives in the device's session (the volunteer's login), never in a table: which cycle
and site, who opened it and when (``Kiosk``), and at most one checked-in voter (``CheckedIn``),
good for one ballot. Opening and closing a kiosk are audited; a check-in writes nothing — the
ballot's own transaction (``cast.ballot_cast``) stores the roll entry (channel "kiosk",
verification "checkin", the site's name) and the erasable identity (name, date of birth, address,
check-in details). Nothing about the check-in reaches the ballot.

Idle voters: the page's script (static/js/kiosk.js) asks "Are you still here?" after
``PB_KIOSK_IDLE_SECONDS`` without any interaction, and returns the device to the start when nobody
answers within ``PB_KIOSK_WARNING_SECONDS``. Once that script has reported in (``watched``), the
server forgets the voter too when it has heard nothing for longer than the script could wait. A
page without JavaScript sends nothing while the voter reads and chooses, so the server cannot tell
a slow voter from a gone one: its check-in never times out — the ballot being filled in is never
wiped — and ends with the ballot, "next voter", "leave without voting", or the next check-in.

A person checked in is known by a keyed hash of their normalised name, date of birth and address:
checked in twice (at two sites, or twice at one), they have one identity key, and the roll's unique
constraint refuses the second ballot.
"""

import hmac
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from budgets.models import Cycle, District
from budgets.phases import Capability, phase_allows
from core.errors import Conflict, NotAllowed, PhaseClosed, ValidationFailed
from core.services import audit_record

from .. import crypto, selectors
from ..models import Channel, ProvisionalBallot, VotingSite
from ..permissions import check_site_worker
from . import cast

IDLE_SECONDS = 180  # default for settings.PB_KIOSK_IDLE_SECONDS
WARNING_SECONDS = 30  # default for settings.PB_KIOSK_WARNING_SECONDS: the time to answer the warning
MIN_WARNING_SECONDS = 20  # whatever the setting says: time to hear the warning, understand it and answer
PING_MAX_SECONDS = 15  # the script reports activity at most this often (more often for short idle times)
EXPIRY_SLACK_SECONDS = 15  # network delays, a busy device

MSG_KIOSK_NOT_VOTING = _("A kiosk can be opened only while voting is open.")
MSG_SITE_INACTIVE = _("This voting site is closed: its kiosks cannot check voters in.")
MSG_SITE_OTHER_CYCLE = _("Choose a voting site of this cycle.")
MSG_NOT_YOUR_KIOSK = _("Only the volunteer who opened this kiosk can check voters in on it.")
MSG_CHECKIN_PAUSED = _("Voting is paused: voters cannot be checked in for the moment.")
MSG_CHECKIN_CLOSED = _("Voting is not open: voters cannot be checked in.")
MSG_CHECKIN_ALREADY_VOTED = _(
    "This person has already voted: one ballot per person in a district, and one ward ballot per cycle "
    "(they were checked in before, here or at another site)."
)
MSG_CHECKIN_NO_BALLOT = _("There is no ballot for this district.")
MSG_NAME = _("Enter the voter's full name.")
MSG_DATE_OF_BIRTH = _("Enter the voter's date of birth.")
MSG_ADDRESS = _("Enter the voter's home address.")
MSG_DISTRICT = _("Choose the ballot this voter votes on.")
MSG_LANGUAGE = _("Choose the voter's language.")


def page_language(language: str) -> str:
    """The language of a kiosk voter's pages (buttons, instructions): theirs where the site is
    translated into it, else the site's main one. The ballot's own texts follow the voter's."""
    site = {code.lower() for code, _name in settings.LANGUAGES}
    for code in (language.lower(), language.lower().split("-")[0]):
        if code in site:
            return code
    return settings.LANGUAGE_CODE


class SiteInactive(Conflict):
    code = "site_inactive"
    default_message = MSG_SITE_INACTIVE


def idle_seconds() -> int:
    """How long a voter's page waits without any interaction before it asks "Are you still here?"."""
    return int(getattr(settings, "PB_KIOSK_IDLE_SECONDS", IDLE_SECONDS))


def warning_seconds() -> int:
    """How long the voter has to answer "Are you still here?" before the device returns to the start
    (never under ``MIN_WARNING_SECONDS``)."""
    return max(MIN_WARNING_SECONDS, int(getattr(settings, "PB_KIOSK_WARNING_SECONDS", WARNING_SECONDS)))


def ping_seconds() -> int:
    """At most how often the page's script tells the server that the voter is active."""
    return max(1, min(PING_MAX_SECONDS, idle_seconds() // 3))


def expiry_seconds() -> int:
    """How long the server keeps a watched voter (see ``CheckedIn.watched``) after its last news of
    them: longer than the script can wait (a ping may lag the last interaction by up to
    ``ping_seconds``, then idle time, then the warning), so the server never ends a session the
    page still shows as open."""
    return idle_seconds() + warning_seconds() + ping_seconds() + EXPIRY_SLACK_SECONDS


@dataclass(frozen=True)
class Kiosk:
    """An open kiosk, as the device's session keeps it."""

    cycle_id: int
    site_id: int
    site_name: str
    volunteer_id: int
    opened_at: float  # a timestamp

    def as_session(self) -> dict:
        return asdict(self)

    @classmethod
    def from_session(cls, data) -> "Kiosk | None":
        try:
            return cls(**data)
        except TypeError:  # nothing stored, or the shape of another release
            return None


@dataclass(frozen=True)
class CheckedIn:
    """A voter checked in at a kiosk, for one ballot. ``seen_at``: the device's last request.
    ``watched``: the page's idle timer (JavaScript) has reported in, so silence means nobody is
    there; without it the check-in does not time out (a voter may take as long as they need)."""

    identity_key: str
    district_id: int
    site_name: str
    volunteer_id: int
    name: str
    date_of_birth: str  # ISO date: the session stores JSON
    address: str
    language: str
    confirmed: bool  # the volunteer saw proof of age and address
    note: str
    seen_at: float
    watched: bool = False
    checked_in_at: float = 0.0  # when the volunteer checked the voter in (the officials' review shows it)

    def as_session(self) -> dict:
        return asdict(self)

    @classmethod
    def from_session(cls, data) -> "CheckedIn | None":
        try:
            return cls(**data)
        except TypeError:
            return None

    def expired(self, now: datetime | None = None) -> bool:
        if not self.watched:
            return False
        now = now or timezone.now()
        return now.timestamp() - self.seen_at > expiry_seconds()

    def seen(self, now: datetime | None = None, *, watched: bool = False) -> "CheckedIn":
        """The voter was active now (a request; ``watched``: a report from the idle timer)."""
        changes = {"seen_at": (now or timezone.now()).timestamp(), "watched": self.watched or watched}
        return CheckedIn(**{**asdict(self), **changes})

    def voter(self) -> cast.Voter:
        """The vote path's voter: the site goes on the roll entry, the check-in details into the
        erasable identity; an unconfirmed eligibility makes the ballot provisional."""
        return cast.Voter(
            identity_key=self.identity_key,
            channel=Channel.KIOSK,
            verification="checkin",
            language=self.language,
            site=self.site_name,
            date_of_birth=date.fromisoformat(self.date_of_birth),
            name=self.name,
            address=self.address,
            checkin={
                "site": self.site_name,
                "volunteer_id": self.volunteer_id,
                "id_seen": self.confirmed,
                **({"at": datetime.fromtimestamp(self.checked_in_at, UTC).isoformat()} if self.checked_in_at else {}),
            },
            provisional_reason="" if self.confirmed else ProvisionalBallot.Reason.NOT_CONFIRMED,
            provisional_note="" if self.confirmed else self.note,
        )


# --- reads -------------------------------------------------------------------------------------------
def voting_sites(cycle: Cycle, *, active_only: bool = False) -> list[VotingSite]:
    sites = VotingSite.objects.filter(cycle=cycle)
    return list(sites.filter(active=True) if active_only else sites)


def kiosk_can_open(cycle: Cycle) -> bool:
    """Voting is the cycle's phase and its close time has not passed (a pause does not close it)."""
    if not phase_allows(cycle.phase, Capability.CAST_BALLOTS):
        return False
    return cycle.voting_close_at is None or timezone.now() < cycle.voting_close_at


def checkin_identity_key(*, name: str, date_of_birth: date, address: str) -> str:
    """Same name, date of birth and address (case, accents, punctuation and spacing ignored) → the
    same key, whatever site checked the person in."""
    return crypto.identity_key("checkin", crypto.match_key(name=name, date_of_birth=date_of_birth, address=address))


# --- services ----------------------------------------------------------------------------------------
@transaction.atomic
def kiosk_open(*, actor, site: VotingSite) -> Kiosk:
    """Open a kiosk at ``site`` on the actor's device (the caller keeps the result in its session).

    Errors: NotAllowed (not a volunteer, or an official without MFA), PhaseClosed (the cycle is not
    in voting, or voting has closed), SiteInactive. Locking: the site row, so a site being closed
    at the same moment is seen. Audited as "kiosk.open"."""
    check_site_worker(actor)
    site = VotingSite.objects.select_for_update().get(pk=site.pk)
    cycle = Cycle.objects.get(pk=site.cycle_id)
    if not kiosk_can_open(cycle):
        raise PhaseClosed(MSG_KIOSK_NOT_VOTING)
    if not site.active:
        raise SiteInactive()
    kiosk = Kiosk(
        cycle_id=cycle.pk,
        site_id=site.pk,
        site_name=site.name,
        volunteer_id=actor.pk,
        opened_at=timezone.now().timestamp(),
    )
    audit_record(
        actor=actor,
        action="kiosk.open",
        object_type="voting_site",
        object_id=site.pk,
        after={"cycle": cycle.slug, "site": site.name},
    )
    return kiosk


@transaction.atomic
def kiosk_close(*, actor, site: VotingSite) -> None:
    """Close the actor's kiosk at ``site`` (the caller forgets it). No role check: whoever opened a
    kiosk may end kiosk mode on their device, even after losing the role. Audited as "kiosk.close"."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAllowed()
    audit_record(
        actor=actor,
        action="kiosk.close",
        object_type="voting_site",
        object_id=site.pk,
        after={"cycle": site.cycle.slug, "site": site.name},
    )


def kiosk_checkin(
    *,
    actor,
    kiosk: Kiosk,
    name: str,
    date_of_birth: date | None,
    address: str,
    district: District | int | None,
    language: str,
    eligibility_confirmed: bool,
    note: str = "",
) -> CheckedIn:
    """Check one voter in at an open kiosk, for one ballot. Writes nothing (the ballot's transaction
    stores the roll entry and the identity).

    Refused, in order: NotAllowed (the actor is no site worker, or did not open this kiosk),
    ValidationFailed (missing name, date of birth, address or ballot; a language that is not the
    cycle's), SiteInactive, VotingPaused / VotingClosed, NotEligible (under the minimum age, the
    vote path's own rule: the check-in page shows it at the date of birth),
    NoBallot, AlreadyVoted (this person is on this ballot's roll). Advisory: no lock; ``ballot_cast``
    checks it all again and the roll's unique constraint has the last word. Eligibility not
    confirmed by the volunteer is no refusal: the ballot will be provisional."""
    check_site_worker(actor)
    if actor.pk != kiosk.volunteer_id:
        raise NotAllowed(MSG_NOT_YOUR_KIOSK)
    name, address, note = (name or "").strip(), (address or "").strip(), (note or "").strip()
    district_id = district.pk if isinstance(district, District) else district
    cycle = Cycle.objects.get(pk=kiosk.cycle_id)
    ballot_ids = {d.pk for d in selectors.ballot_districts(cycle)}
    errors: dict[str, list] = {}
    if not name:
        errors["name"] = [MSG_NAME]
    if date_of_birth is None:
        errors["date_of_birth"] = [MSG_DATE_OF_BIRTH]
    if not address:
        errors["address"] = [MSG_ADDRESS]
    if district_id not in ballot_ids:
        errors["district"] = [MSG_DISTRICT]
    if language not in dict(cycle.content_languages()):
        errors["language"] = [MSG_LANGUAGE]
    if errors:
        raise ValidationFailed(extra=errors)
    site = VotingSite.objects.get(pk=kiosk.site_id)
    if not site.active:
        raise SiteInactive()
    now = timezone.now()
    checked_in = CheckedIn(
        identity_key=checkin_identity_key(name=name, date_of_birth=date_of_birth, address=address),
        district_id=district_id,
        site_name=site.name,
        volunteer_id=actor.pk,
        name=name[:150],
        date_of_birth=date_of_birth.isoformat(),
        address=address[:300],
        language=language,
        confirmed=bool(eligibility_confirmed),
        note=note,
        seen_at=now.timestamp(),
        checked_in_at=now.timestamp(),
    )
    try:
        cast.voter_check(voter=checked_in.voter(), district=district_id)
    except cast.VotingPaused as error:
        raise cast.VotingPaused(MSG_CHECKIN_PAUSED) from error
    except cast.VotingClosed as error:
        raise cast.VotingClosed(MSG_CHECKIN_CLOSED) from error
    except cast.NoBallot as error:
        raise cast.NoBallot(MSG_CHECKIN_NO_BALLOT) from error
    except cast.AlreadyVoted as error:
        raise cast.AlreadyVoted(MSG_CHECKIN_ALREADY_VOTED) from error
    return checked_in


# --- the kiosk PIN ----------------------------------------------------------------------------------
# The kiosk runs in the volunteer's logged-in session, so a voter must not be able to leave the
# kiosk's pages (KioskLockMiddleware), check themselves in, or close the kiosk: each check-in and the
# closing ask for a PIN the volunteer chose when opening it. The session keeps a keyed hash of it.
PIN_TRIES = 5  # wrong PINs before the kiosk closes itself and logs the device out


def pin_seal(pin: str) -> dict:
    salt = secrets.token_hex(16)
    return {"salt": salt, "hash": crypto.keyed_hash("kiosk-pin", f"{salt}:{pin}"), "failures": 0}


def pin_matches(sealed: dict | None, pin: str) -> bool:
    if not isinstance(sealed, dict) or not sealed.get("salt") or not pin:
        return False
    return hmac.compare_digest(sealed.get("hash", ""), crypto.keyed_hash("kiosk-pin", f"{sealed['salt']}:{pin}"))
