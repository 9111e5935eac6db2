"""What of each audit event the public may see: the declared table behind the public record.

Every event is split when it is written (``core.services.audit_record``): the fields this table
publishes, and the withheld ones — which the hash chain commits to through a salted digest, so the
public record still verifies (docs/audit-log.md). The split is stored with the event (its
``withheld`` list), so changing this table later changes only the events written after.

Default deny: an action not in the table publishes none of its ``before``/``after`` keys, no reason
and no actor id. Never public: the client IP, and the account id of a resident acting as a resident
(who endorsed, commented, followed, reported or proposed what). Staff actions name the staff
account: officials answer for what they do. Free text that staff keep to themselves (vetting's
internal notes, officials' notes on provisional ballots, duplicates, paper sheets and counts) is
withheld; reasons the platform publishes anyway (a phase change, a pause, a certification, a
withdrawn project, a void) are public.
"""

from dataclasses import dataclass

ALL = "*"


@dataclass(frozen=True)
class Disclosure:
    before: frozenset[str] | str = frozenset()  # keys of ``before`` published, or ALL
    after: frozenset[str] | str = frozenset()  # keys of ``after`` published, or ALL
    reason: bool = False  # the event's reason published
    actor: bool = True  # the acting account's id published (False: a resident's own action)


def _keys(*names: str) -> frozenset[str]:
    return frozenset(names)


PUBLIC = Disclosure(before=ALL, after=ALL, reason=True)  # everything but the IP
DENY = Disclosure(actor=False)  # the default: nothing but what happened to which object, and when
_IDEA_PUBLIC = _keys("district", "category", "cost_guess", "language", "status", "photo")
_REVIEW_PUBLIC = _keys("reviewer", "feasibility", "public_reason", "cost_estimate", "department")

DISCLOSURE: dict[str, Disclosure] = {
    # --- residents acting as residents: never their account id, never their free text
    "idea.submitted": Disclosure(after=_IDEA_PUBLIC, actor=False),
    "idea.edited": Disclosure(before=_IDEA_PUBLIC, after=_IDEA_PUBLIC, actor=False),
    "idea.withdrawn": Disclosure(before=ALL, after=ALL, actor=False),
    "idea.endorsed": Disclosure(actor=False),
    "idea.unendorsed": Disclosure(actor=False),
    "comment.added": Disclosure(after=_keys("idea"), actor=False),
    "follow.added": Disclosure(actor=False),
    "follow.removed": Disclosure(actor=False),
    "content.reported": Disclosure(actor=False),
    "user.preferences_changed": DENY,
    # --- vetting and moderation
    "idea.paper_entered": Disclosure(after=_IDEA_PUBLIC),
    "idea.hidden": Disclosure(),
    "comment.hidden": Disclosure(),
    "review.assigned": Disclosure(before=ALL, after=ALL),
    "review.recorded": Disclosure(before=_REVIEW_PUBLIC, after=_REVIEW_PUBLIC),  # never internal_notes
    "review.published": PUBLIC,
    "project.created": PUBLIC,
    "project.updated": PUBLIC,
    # A draft is staff's work in progress: the record says one was made or changed, not what it
    # says; all of it is public in its "project.published" event.
    "project.drafted": Disclosure(),
    "project.draft_updated": Disclosure(),
    "project.published": PUBLIC,
    "project.update_posted": PUBLIC,  # a news post shown on the project's page
    "category.created": PUBLIC,
    # --- the cycle and its ballot
    "cycle.created": PUBLIC,
    "cycle.updated": PUBLIC,
    "cycle.date_moved": PUBLIC,  # a scheduled date moved once the cycle is under way: old, new, why
    "cycle.phase_changed": PUBLIC,
    "cycle.voting_extended": PUBLIC,
    "cycle.voting_paused": PUBLIC,
    "cycle.voting_resumed": PUBLIC,
    "cycle.import": PUBLIC,
    "district.import": PUBLIC,
    "cycle.archive_erase": PUBLIC,
    "eligibility.set": PUBLIC,
    "ballot_design.set": PUBLIC,
    "ballot.frozen": PUBLIC,
    "access_codes.generated": PUBLIC,
    "voting_site.create": PUBLIC,
    "voting_site.set_active": PUBLIC,
    "kiosk.open": PUBLIC,
    "kiosk.close": PUBLIC,
    # --- counting: officials' notes stay inside
    "provisional.accept": Disclosure(before=ALL, after=ALL),
    "provisional.reject": Disclosure(before=ALL, after=ALL),  # the reason may name the voter
    "duplicate_review.record": Disclosure(after=_keys("cycle", "decision", "members")),  # no match key
    "paper_batch.create": PUBLIC,
    "paper_batch.counts_update": Disclosure(before=ALL, after=ALL),
    "paper_sheet.key": PUBLIC,
    "paper_sheet.resolve": Disclosure(before=ALL, after=ALL),
    "paper_batch.reconcile": PUBLIC,
    "ballot.void": PUBLIC,  # its reason is in ballots.csv anyway
    "tally.requested": PUBLIC,
    "tally.run": PUBLIC,
    "cycle.tie_break": PUBLIC,
    "tally.lottery_drawn": PUBLIC,
    "results.certify": PUBLIC,
    "project.withdraw": PUBLIC,
    # --- accounts: no cycle's record shows them (they belong to no cycle), only its links; the
    # auditors' bundle has them whole. Declared so the intent is written down: a person's full name
    # and the reasons given for appointing staff stay inside.
    "user.name_set": DENY,
    "user.role_added": DENY,
    "user.role_removed": DENY,
    "user.role_granted": Disclosure(after=ALL),
    "user.role_revoked": Disclosure(before=ALL),
    "user.groups_changed": Disclosure(before=ALL, after=ALL, reason=True),
    "user.access_changed": Disclosure(before=ALL, after=ALL, reason=True),
    # --- the audit itself
    "audit.format_upgraded": PUBLIC,  # the chain's switch to the current format (pbverify.chain)
    "bundle.request": PUBLIC,
    "bundle.download": PUBLIC,
    "receipt.lookup": PUBLIC,  # only whether something was found
}


def withheld_paths(*, action: str, actor_id, before: dict, after: dict, reason: str) -> list[str]:
    """The parts of an event kept out of the public record, as sorted paths: ``ip`` (always),
    ``actor_id``, ``reason``, ``before.<key>``, ``after.<key>``."""
    rule = DISCLOSURE.get(action, DENY)
    paths = {"ip"}
    if actor_id is not None and not rule.actor:
        paths.add("actor_id")
    if reason and not rule.reason:
        paths.add("reason")
    for side, data, published in (("before", before, rule.before), ("after", after, rule.after)):
        if published != ALL:
            paths |= {f"{side}.{key}" for key in data if key not in published}
    return sorted(paths)
