"""What archiving a cycle erases (the hook on implementation → archived, in the transition's
transaction; see docs/audit-log.md, "Archive"). Each app erases its own tables; this module decides
whose data goes and calls them in order:

1. the accounts to anonymise, worked out first (it reads the roll's keys and the follows, which
   the later steps erase): resident accounts whose only activity — an idea, a comment, an
   endorsement, a follow, a report, a ballot — is in this cycle. An account active in another
   cycle (one not archived yet, or a later one) is kept as it is; staff accounts are never touched;
2. the vote: identities, the roll's identity keys (random values from then on), notes, match keys,
   sealed links, change keys, phone challenges (``voting.erase``);
3. the ideas: proposers' details, photos, removed content, internal notes, reports, follows
   (``proposals.erase``);
4. the accounts (``accounts.erase``), the outbox (``core.erase``) and the sessions: expired ones,
   the anonymised accounts' ones and any holding a voter or kiosk of this cycle;
5. the audit log's withheld values (``core.erase.audit_withheld_erase``) of this cycle's events
   and of the events about the anonymised accounts: client IPs, residents' account ids, staff's
   internal notes, officials' notes, residents' texts as submitted. What the public record shows of
   each event, and every hash, stay as they were.

Kept: the roll (one anonymous row per voter: district, channel, day), the ballots and their receipt
hashes, the results, the public content of the cycle and the audit log's public record.
"""

from functools import partial

from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.erase import residents_only, sessions_erase, users_anonymise
from budgets.models import Cycle
from core.erase import audit_withheld_erase, notifications_erase
from proposals.erase import accounts_active_elsewhere, accounts_active_in, ideas_personal_data_erase
from voting import crypto
from voting.erase import account_keys_on_other_rolls, account_keys_on_roll, vote_personal_data_erase


def _account_key(pk: int) -> str:
    return crypto.identity_key("account", str(pk))  # as the vote path keys an account's ballot


def accounts_of_cycle_only(*, cycle: Cycle) -> set[int]:
    """Ids of the resident accounts whose only activity is in ``cycle`` (step 1 above)."""
    keys = {_account_key(pk): pk for pk in get_user_model().objects.values_list("pk", flat=True)}
    voters = {keys[key] for key in account_keys_on_roll(cycle=cycle, keys=keys)}
    candidates = accounts_active_in(cycle=cycle) | voters
    if not candidates:
        return set()
    elsewhere = accounts_active_elsewhere(cycle=cycle, user_ids=candidates)
    candidate_keys = [_account_key(pk) for pk in candidates]
    elsewhere |= {keys[key] for key in account_keys_on_other_rolls(cycle=cycle, keys=candidate_keys)}
    return residents_only(candidates - elsewhere)


def _session_of_cycle(district_ids: set[int], cycle_id: int, data: dict) -> bool:
    """A session holding a voter, a verification or a kiosk of this cycle: any value of it that
    names the cycle or one of its districts."""
    for value in data.values():
        if isinstance(value, dict) and (
            value.get("cycle_id") == cycle_id or (value.get("district_id") in district_ids)
        ):
            return True
    return False


def personal_data_erase(*, cycle: Cycle, live_phases: list[str]) -> dict[str, int]:
    """Erase what the archive erases for ``cycle`` (no audit event: the hook writes it, with these
    counts). ``live_phases``: phases of cycles whose voters' identities are still needed."""
    accounts = accounts_of_cycle_only(cycle=cycle)
    summary = vote_personal_data_erase(cycle=cycle, live_phases=live_phases)
    summary |= ideas_personal_data_erase(cycle=cycle)
    summary["accounts_anonymised"] = users_anonymise(user_ids=accounts)
    summary["notifications_erased"] = notifications_erase(
        vote_closed_at=cycle.voting_close_at or timezone.now(), recipient_ids=accounts
    )
    districts = set(cycle.districts.values_list("pk", flat=True))
    summary["sessions_erased"] = sessions_erase(
        user_ids=accounts, holds=partial(_session_of_cycle, districts, cycle.pk)
    )
    summary["audit_events_values_erased"] = audit_withheld_erase(cycle_id=cycle.pk, user_ids=accounts)
    return summary
