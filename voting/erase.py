"""What the archive erases of a cycle's vote, called by the archive step in the
phase hook's transaction. After it, nothing links a person to the cycle's roll:

- the voters' identities (name, email, phone, address, date of birth, check-in details) — except an
  identity also on the roll of a cycle not archived yet, which keeps it until that one is archived;
- the roll's identity keys: each becomes a random ``erased:`` value. The keys were keyed hashes of an
  account id, a phone number or a check-in; with the deployment's secret anyone could recompute them
  and read who voted in which district on which day. A random value cannot be recomputed, and keeps
  what the record needs: one row per voter (roll count = ballots), district, channel, day;
- volunteers' notes on provisional ballots and officials' reasons for deciding them (a rejection
  keeps a stand-in: it must have one), officials' notes on duplicate reviews and the reviews'
  match keys (a keyed hash of name, date of birth and address), officials' notes on the paper
  sheets they settled, any sealed link or ballot-change key left, and phone challenges and
  rate-limit rows from before the close of voting.
The ballots, receipt hashes and results are not touched; the audit log's withheld values are
erased by core (``core.erase.audit_withheld_erase``), its events kept.
"""

import secrets
from collections.abc import Iterable

from budgets.models import Cycle

from .models import (
    BallotChangeKey,
    DuplicateReview,
    Identity,
    PaperResolution,
    PhoneChallenge,
    ProvisionalBallot,
    VerificationAttempt,
    VoterRollEntry,
)
from .services.record import ERASED_PREFIX, roll_keys_erase

ERASED_REASON = "[erased]"  # a rejected provisional ballot's reason once erased (a rejection must have one)


def erased_value() -> str:
    """A random stand-in for a keyed hash (no secret can recompute it): 'erased:' + 128 bits."""
    return ERASED_PREFIX + secrets.token_hex(16)


def account_keys_on_roll(*, cycle: Cycle, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` (identity keys) are on the roll of ``cycle``."""
    return set(
        VoterRollEntry.objects.filter(cycle=cycle, identity_key__in=list(keys)).values_list("identity_key", flat=True)
    )


def account_keys_on_other_rolls(*, cycle: Cycle, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are on the roll of any other cycle (an archived cycle's keys are erased,
    so they never match)."""
    return set(
        VoterRollEntry.objects.filter(identity_key__in=list(keys))
        .exclude(cycle=cycle)
        .values_list("identity_key", flat=True)
    )


def _provisional_reasons_erase(*, cycle: Cycle) -> int:
    """Officials' reasons for accepting or rejecting the cycle's provisional ballots (free text that
    may name the voter): blank, or the stand-in for a rejection."""
    decided = ProvisionalBallot.objects.filter(cycle=cycle)
    rejected = ProvisionalBallot.Status.REJECTED
    return decided.exclude(status=rejected).exclude(decision_reason="").update(decision_reason="") + decided.filter(
        status=rejected
    ).exclude(decision_reason=ERASED_REASON).update(decision_reason=ERASED_REASON)


def _paper_notes_erase(*, cycle: Cycle) -> int:
    return PaperResolution.objects.filter(batch__district__cycle=cycle).exclude(note="").update(note="")


def vote_personal_data_erase(*, cycle: Cycle, live_phases: list[str]) -> dict[str, int]:
    """Erase the personal data of ``cycle``'s vote (see the module docstring). ``live_phases``: the
    phases of cycles whose identities are still needed. Returns counts for the audit event."""
    keys = VoterRollEntry.objects.filter(cycle=cycle).values("identity_key")
    elsewhere = (
        VoterRollEntry.objects.filter(identity_key__in=keys, cycle__phase__in=live_phases)
        .exclude(cycle=cycle)
        .values("identity_key")
    )
    identities = Identity.objects.filter(identity_key__in=keys)
    kept = identities.filter(identity_key__in=elsewhere).count()
    erased, _detail = identities.exclude(identity_key__in=elsewhere).delete()
    summary = {
        "identities_erased": erased,
        "identities_kept_for_other_cycles": kept,
        "provisional_notes_erased": ProvisionalBallot.objects.filter(cycle=cycle).exclude(note="").update(note=""),
        "provisional_reasons_erased": _provisional_reasons_erase(cycle=cycle),
        "paper_notes_erased": _paper_notes_erase(cycle=cycle),
        "duplicate_notes_erased": DuplicateReview.objects.filter(cycle=cycle).exclude(note="").update(note=""),
        "ballot_change_keys_erased": BallotChangeKey.objects.filter(district__cycle=cycle).delete()[0],
    }
    for review in DuplicateReview.objects.filter(cycle=cycle).exclude(match_key__startswith=ERASED_PREFIX):
        review.match_key = erased_value()
        review.save(update_fields=["match_key"])
    summary["roll_keys_erased"] = roll_keys_erase(cycle=cycle)
    cutoff = cycle.voting_close_at
    if cutoff is not None:
        summary["phone_challenges_erased"] = PhoneChallenge.objects.filter(created_at__lt=cutoff).delete()[0]
        summary["verification_attempts_erased"] = VerificationAttempt.objects.filter(at__lt=cutoff).delete()[0]
    return summary
