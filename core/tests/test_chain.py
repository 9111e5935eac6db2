"""pbverify.chain and core.audit_policy: the split of each event and the checks over the three forms."""

import pytest

from core.audit_policy import withheld_paths
from core.context import reset_client_ip, set_client_ip
from core.erase import audit_withheld_erase
from core.models import AuditEvent
from core.selectors import audit_chain_verify, audit_chain_verify_database, audit_event_export, audit_event_public
from core.services import audit_record
from pbverify import chain

pytestmark = pytest.mark.django_db


def test_the_table_withholds_staff_notes_and_residents_ids_and_denies_by_default():
    review = {"feasibility": "feasible", "public_reason": "Fine.", "internal_notes": "Secret"}
    assert withheld_paths(action="review.recorded", actor_id=7, before={}, after=review, reason="") == [
        "after.internal_notes",
        "ip",
    ]
    assert withheld_paths(action="idea.endorsed", actor_id=9, before={}, after={}, reason="") == ["actor_id", "ip"]
    assert withheld_paths(
        action="cycle.phase_changed", actor_id=3, before={"phase": "a"}, after={"phase": "b"}, reason="The schedule."
    ) == ["ip"]
    assert withheld_paths(action="something.new", actor_id=3, before={"x": 1}, after={"y": 2}, reason="Why") == [
        "actor_id",
        "after.y",
        "before.x",
        "ip",
        "reason",
    ]


def test_a_fresh_chain_starts_in_the_current_format_without_an_upgrade_event(resident):
    audit_record(actor=resident, action="idea.endorsed", object_type="idea", object_id=1)
    audit_record(actor=None, action="cycle.updated", object_type="cycle", object_id=1, after={"name": "x"})
    # (Making the test user wrote its own event first, a role given outside the role services.)
    assert list(AuditEvent.objects.values_list("version", "action"))[-2:] == [
        (2, "idea.endorsed"),
        (2, "cycle.updated"),
    ]
    assert set(AuditEvent.objects.values_list("version", flat=True)) == {2}
    assert audit_chain_verify_database().ok


def test_a_complete_export_must_carry_every_withheld_value(resident, cycle_factory):
    cycle = cycle_factory()
    event = audit_record(actor=resident, action="idea.endorsed", object_type="cycle", object_id=cycle.pk)
    lines = [audit_event_export(e) for e in AuditEvent.objects.order_by("id")]  # the test user's role first
    line = lines[-1]
    assert line["private"]["values"] == {"actor_id": resident.pk, "ip": None}
    assert audit_chain_verify(lines).ok
    lines[-1] = {k: v for k, v in line.items() if k != "private"}
    report = audit_chain_verify(lines)
    assert (report.ok, report.problem) == (False, "the event's withheld values are missing")
    # The cycle's public record shows it without them, and hides its actor.
    public = [audit_event_public(e, cycle_id=cycle.pk) for e in AuditEvent.objects.order_by("id")]
    shown = public[-1]
    assert shown["id"] == event.pk and "private" not in shown and shown["event"]["actor_id"] is None
    assert audit_chain_verify(public, public_cycle=cycle.pk).ok


def test_an_event_with_an_unresolvable_object_belongs_to_no_cycle(official):
    event = audit_record(actor=official, action="cycle.updated", object_type="idea", object_id="not-a-number")
    assert event.cycle_id is None
    line = audit_event_public(event, cycle_id=1)
    assert set(line) == {"id", "v", "prev_hash", "cycle", "body_digest", "hash"}
    assert chain.v2_hash(prev_hash=line["prev_hash"], cycle=None, digest=line["body_digest"]) == event.hash


def test_an_ipv6_client_address_is_hashed_as_it_is_stored(official):
    token = set_client_ip("2001:0DB8:0000:0000:0000:0000:0000:0001")
    try:
        audit_record(actor=official, action="cycle.updated", object_type="cycle", object_id=1)
    finally:
        reset_client_ip(token)
    event = AuditEvent.objects.get(action="cycle.updated")
    assert event.ip == "2001:db8::1"
    assert audit_chain_verify_database().ok


# --- events whose withheld values the archive erased --------------------------------------------------
def _erased_export(resident, official, cycle):
    audit_record(
        actor=resident,
        action="idea.submitted",
        object_type="cycle",
        object_id=cycle.pk,
        after={"title": "Call Dana on 555-0100", "district": "A"},
    )
    audit_record(
        actor=official,
        action="provisional.reject",
        object_type="cycle",
        object_id=cycle.pk,
        after={"status": "rejected"},
        reason="Dana had no ID",
    )
    audit_record(actor=official, action="cycle.updated", object_type="cycle", object_id=cycle.pk + 1000)
    audit_withheld_erase(cycle_id=cycle.pk)
    return [audit_event_export(e) for e in AuditEvent.objects.order_by("id")]


def _at(lines, action):
    return next(i for i, line in enumerate(lines) if line.get("event", {}).get("action") == action)


def test_a_complete_export_with_erased_events_verifies_and_counts_them(resident, official, cycle_factory):
    cycle = cycle_factory()
    lines = _erased_export(resident, official, cycle)
    erased = [line for line in lines if line.get("private") == {"erased": True}]
    assert len(erased) == AuditEvent.objects.filter(cycle_id=cycle.pk).count() >= 2
    assert "Dana" not in str(lines)
    report = audit_chain_verify(lines)
    assert (report.ok, report.erased, report.checked) == (True, len(erased), len(lines)), report.problem
    # The public record is as it was: bodies only, and it verifies.
    public = [audit_event_public(e, cycle_id=cycle.pk) for e in AuditEvent.objects.order_by("id")]
    assert all("private" not in line for line in public)
    assert audit_chain_verify(public, public_cycle=cycle.pk).ok
    # The export is what audit_verify checks too.
    assert audit_chain_verify_database().erased == len(erased)


@pytest.mark.parametrize(
    "tamper",
    ["public_value", "withheld_list", "stored_digest", "erased_without_digest", "values_of_a_live_event_dropped"],
)
def test_a_changed_public_body_of_an_erased_event_is_caught(resident, official, cycle_factory, tamper):
    cycle = cycle_factory()
    lines = _erased_export(resident, official, cycle)
    at = _at(lines, "provisional.reject")
    body = lines[at]["event"]
    expected = "hash does not match the event's content"
    if tamper == "public_value":
        body["after"]["status"] = "accepted"
    elif tamper == "withheld_list":
        body["withheld"] = ["ip"]
    elif tamper == "stored_digest":
        body["private_digest"] = "0" * 64
    elif tamper == "erased_without_digest":
        del body["private_digest"]
        expected = "the erased event's body has no digest of its withheld values"
    else:  # an event not erased cannot have its values changed and then be passed off as erased …
        at = _at(lines, "cycle.updated")
        assert lines[at]["private"] != {"erased": True}
        lines[at]["event"]["after"] = {"name": "changed"}
        lines[at]["private"] = {"erased": True}
    report = audit_chain_verify(lines)
    assert (report.ok, report.broken_id, report.problem) == (False, lines[at]["id"], expected)
