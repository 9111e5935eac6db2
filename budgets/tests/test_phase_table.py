"""``manage.py phase_table``: the table of what runs on every transition, printed from the live
registry, and the docs page kept equal to it (``--check`` / ``--write``)."""

import io

import pytest
from django.core.management import CommandError, call_command

from budgets import phases
from budgets.management.commands import phase_table
from budgets.phases import Phase


def _print() -> str:
    out = io.StringIO()
    call_command("phase_table", stdout=out)
    return out.getvalue()


@pytest.fixture
def doc(tmp_path, monkeypatch):
    page = tmp_path / "phases.md"
    page.write_text(f"# Phases\n\nBefore.\n\n{phase_table.BEGIN}\nold table\n{phase_table.END}\n\nAfter.\n")
    monkeypatch.setattr(phase_table, "doc_path", lambda: page)
    return page


def test_the_table_has_a_row_per_step_of_every_transition():
    lines = _print().splitlines()
    assert lines[0] == "| Transition | Taken | Step | Function | What it does |"
    assert lines[2].startswith("| draft → ideas | scheduled (`ideas_open_at`) or by hand | service | ")
    assert (
        "| counting → results | its own service only | guard | `voting.services.review.guard_review_settled` | "
        "counting → results (certification): every provisional ballot decided"
    ) in _print()
    assert "|  |  | hook | `voting.services.design.hook_freeze` | vetting → voting: freeze the designs" in _print()
    assert "| results → implementation | by hand | service | " in _print()


def test_the_table_reads_the_live_registry(clean_transitions):
    def effect(*, cycle_id):
        """Tell | everyone.

        Not this paragraph."""

    phases.register_effect(Phase.RESULTS, Phase.IMPLEMENTATION, effect)
    name = f"`{phase_table.qualified_name(effect)}`"
    assert f"|  |  | effect | {name} | Tell \\| everyone. |" in _print()
    assert "guard_ballot_ready" not in _print()  # cleared for this test: the table follows


def test_check_refuses_a_page_that_differs(doc):
    with pytest.raises(CommandError, match="out of date"):
        call_command("phase_table", "--check")


def test_write_puts_the_table_between_the_markers_and_nothing_else(doc):
    call_command("phase_table", "--write", stdout=io.StringIO())
    assert doc.read_text() == (f"# Phases\n\nBefore.\n\n{phase_table.BEGIN}\n{_print()}{phase_table.END}\n\nAfter.\n")
    call_command("phase_table", "--check")  # now equal


def test_check_after_a_change_to_the_registry_fails(doc, clean_transitions):
    call_command("phase_table", "--write", stdout=io.StringIO())
    phases.register_hook(Phase.DRAFT, Phase.IDEAS, lambda *, cycle, actor: None)
    with pytest.raises(CommandError, match="out of date"):
        call_command("phase_table", "--check")


def test_a_page_without_markers_is_refused(doc):
    doc.write_text("# Phases\n")
    with pytest.raises(CommandError, match="markers"):
        call_command("phase_table", "--write", stdout=io.StringIO())
    assert doc.read_text() == "# Phases\n"
