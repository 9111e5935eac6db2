"""core.chain and core.audit_policy: the split of each event and the checks over the three forms."""

import pytest

from core import chain
from core.audit_policy import withheld_paths
from core.context import reset_client_ip, set_client_ip
from core.models import AuditEvent
from core.selectors import audit_chain_verify, audit_chain_verify_database, audit_event_export, audit_event_public
from core.services import audit_record

pytestmark = pytest.mark.django_db


def test_the_table_withholds_staff_notes_and_residents_ids_and_denies_by_default():
    review = {"feasibility": "feasible", "public_reason": "Fine.", "internal_notes": "Secret"}
    assert withheld_paths(action="review.recorded", actor_id=7, before={}, after=review, reason="") == [
        "after.internal_notes", "ip"
    ]  # fmt: skip
    assert withheld_paths(action="idea.endorsed", actor_id=9, before={}, after={}, reason="") == ["actor_id", "ip"]
    assert withheld_paths(action="cycle.phase_changed", actor_id=3, before={"phase": "a"}, after={"phase": "b"},
                          reason="The schedule.") == ["ip"]  # fmt: skip
    assert withheld_paths(action="something.new", actor_id=3, before={"x": 1}, after={"y": 2}, reason="Why") == [
        "actor_id", "after.y", "before.x", "ip", "reason"
    ]  # fmt: skip


def test_a_fresh_chain_starts_in_the_current_format_without_an_upgrade_event(resident):
    audit_record(actor=resident, action="idea.endorsed", object_type="idea", object_id=1)
    audit_record(actor=None, action="cycle.updated", object_type="cycle", object_id=1, after={"name": "x"})
    assert list(AuditEvent.objects.values_list("version", "action")) == [(2, "idea.endorsed"), (2, "cycle.updated")]
    assert audit_chain_verify_database().ok


def test_a_complete_export_must_carry_every_withheld_value(resident, cycle_factory):
    cycle = cycle_factory()
    audit_record(actor=resident, action="idea.endorsed", object_type="cycle", object_id=cycle.pk)
    line = audit_event_export(AuditEvent.objects.get())
    assert line["private"]["values"] == {"actor_id": resident.pk, "ip": None}
    assert audit_chain_verify([line]).ok
    public = {k: v for k, v in line.items() if k != "private"}
    report = audit_chain_verify([public])
    assert (report.ok, report.problem) == (False, "the event's withheld values are missing")
    # The cycle's public record shows it without them, and hides its actor.
    shown = audit_event_public(AuditEvent.objects.get(), cycle_id=cycle.pk)
    assert "private" not in shown and shown["event"]["actor_id"] is None
    assert audit_chain_verify([shown], public_cycle=cycle.pk).ok


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
