"""``python manage.py phase_table``: print, for every transition, what runs when it is taken — its
guards, the phase-change service's own steps, its hooks and its effects, in order, each with the
first paragraph of its docstring — read from the live registry (``budgets.phases.TRANSITIONS`` as
wired at start-up, and ``budgets.services.transition_steps``).

``--check`` fails if docs/phases.md does not hold exactly this table between its markers;
``--write`` puts it there.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from budgets.phases import TRANSITIONS, Transition
from budgets.services import transition_steps

BEGIN = "<!-- phase_table: begin (python manage.py phase_table --write) -->"
END = "<!-- phase_table: end -->"


def doc_path() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "phases.md"


def qualified_name(function) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def summary(function) -> str:
    """The first paragraph of the function's docstring, on one line."""
    paragraph = (function.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(paragraph.split()).replace("|", "\\|")


def _taken_by(transition: Transition) -> str:
    if not transition.generic:
        return "its own service only"
    if transition.scheduled_field:
        return f"scheduled (`{transition.scheduled_field}`) or by hand"
    return "by hand"


def phase_table_markdown() -> str:
    lines = ["| Transition | Taken | Step | Function | What it does |", "|---|---|---|---|---|"]
    for transition in TRANSITIONS.values():
        first = f"{transition.source.value} → {transition.target.value} | {_taken_by(transition)}"
        for kind, function in transition_steps(transition):
            lines.append(f"| {first} | {kind} | `{qualified_name(function)}` | {summary(function)} |")
            first = " | "
    return "\n".join(lines) + "\n"


def _replace_between_markers(text: str, table: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise CommandError(f"{doc_path()} has no {BEGIN} … {END} markers")
    return text[: start + len(BEGIN)] + "\n" + table + text[end:]


class Command(BaseCommand):
    help = "Print what runs on every phase transition (guards, service steps, hooks, effects) as Markdown."

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--check", action="store_true", help="fail if docs/phases.md differs from the table")
        mode.add_argument("--write", action="store_true", help="write the table into docs/phases.md")

    def handle(self, *args, check: bool = False, write: bool = False, **options):
        table = phase_table_markdown()
        if not (check or write):
            self.stdout.write(table, ending="")
            return
        path = doc_path()
        text = path.read_text(encoding="utf-8")
        wanted = _replace_between_markers(text, table)
        if write:
            if wanted != text:
                path.write_text(wanted, encoding="utf-8")
            self.stdout.write(f"{path}: phase table written")
        elif wanted != text:
            raise CommandError(f"{path} is out of date: run `python manage.py phase_table --write`")
