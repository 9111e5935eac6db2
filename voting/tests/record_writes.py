"""A static reading of the source that finds every write to the vote record's tables: what
``test_record`` uses to hold that ``voting/services/record.py`` is their only writer.

It reads each module's syntax tree (nothing is imported or run) and reports, by file and line:
- a model of the record constructed (``Ballot(…)``, ``VoterRollEntry(…)``, …);
- a write through its manager, a queryset or an instance: ``create``, ``bulk_create``,
  ``get_or_create``, ``update_or_create``, ``update``, ``bulk_update``, ``delete``, ``save`` — on
  the model (``Ballot.objects…``), on a reverse accessor onto it (``district.ballots…``,
  ``ballot.void…``), or on a name this function (or the module) bound to any of those;
- SQL text that writes one of the tables (``INSERT INTO``, ``UPDATE``, ``DELETE FROM``,
  ``TRUNCATE``, ``COPY``, ``ALTER TABLE``), in any string, f-string or concatenation.
The models are recognised however they were imported (``from voting.models import Ballot as B``,
``from .models import …`` inside ``voting``, ``from voting import models``, ``import
voting.models``, ``apps.get_model("voting", "Ballot")``); a ``Ballot`` imported from elsewhere (the
ballot methods' value type, the tally's) is not one of them.
"""

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MODELS_MODULE = "voting.models"
MODELS = frozenset({"Ballot", "BallotSource", "BallotVoid", "VoterRollEntry"})
TABLES = ("voting_ballot", "voting_ballotsource", "voting_ballotvoid", "voting_voterrollentry")
# The reverse accessors onto those models (their ``related_name``s).
RELATED = frozenset({"ballots", "roll_entries", "void", "source"})
MANAGERS = frozenset({"objects", "_default_manager", "_base_manager"})
WRITES = frozenset(
    {"create", "bulk_create", "get_or_create", "update_or_create", "update", "bulk_update", "delete", "save"}
)
WRITE_SQL = re.compile(
    r"\b(?:insert\s+into|update|delete\s+from|truncate(?:\s+table)?|copy|alter\s+table)\s+(?:only\s+)?\"?("
    + "|".join(TABLES)
    + r")\b(?!\w)",
    re.IGNORECASE,
)

# Production code: every module of the repository but tests, migrations (the tables' schema and
# triggers), the benchmarks' data generators, scripts, and the owner itself.
OWNER = "voting/services/record.py"
SKIPPED_DIRS = frozenset(
    {"tests", "migrations", "bench", "scripts", "node_modules", "static", "staticfiles", "media", "var", "locale"}
)


@dataclass(frozen=True, order=True)
class Write:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def production_modules(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(part.startswith(".") or part in SKIPPED_DIRS for part in parts[:-1]):
            continue
        if parts[-1] == "conftest.py" or "/".join(parts) == OWNER:
            continue
        yield path


def record_writes_in(root: Path) -> list[Write]:
    """Every write to the record's tables in the repository's production code outside the owner."""
    found = []
    for path in production_modules(root):
        found += record_writes(path.read_text(encoding="utf-8"), path.relative_to(root).as_posix())
    return sorted(found)


def record_writes(source: str, path: str) -> list[Write]:
    """The writes in one module's ``source``; ``path`` (relative, "/"-separated) places its relative
    imports."""
    tree = ast.parse(source, filename=path)
    return sorted(_Reader(path, _package(path)).read(tree))


def _package(path: str) -> str:
    """The package a module's relative imports start from ("voting" for voting/erase.py and for
    voting/__init__.py alike, "voting.services" for voting/services/paper.py)."""
    return ".".join(path.removesuffix(".py").split("/")[:-1])


class _Reader:
    def __init__(self, path: str, package: str):
        self.path = path
        self.package = package
        self.model_names: set[str] = set()  # local names of the record's models
        self.module_names: set[str] = set()  # local names of voting.models
        self.dotted: set[str] = set()  # "voting.models" when imported as a package path
        self.found: set[Write] = set()

    # --- what the module imported ---------------------------------------------------------------
    def _absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = self.package.split(".")
        base = base[: len(base) - node.level + 1]
        return ".".join([*base, *([node.module] if node.module else [])])

    def _imports(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = self._absolute(node)
                for alias in node.names:
                    if module == MODELS_MODULE and alias.name in MODELS:
                        self.model_names.add(alias.asname or alias.name)
                    elif f"{module}.{alias.name}" == MODELS_MODULE:
                        self.module_names.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == MODELS_MODULE:
                        if alias.asname:
                            self.module_names.add(alias.asname)
                        else:
                            self.dotted.add(MODELS_MODULE)

    # --- what an expression is ------------------------------------------------------------------
    def _is_model(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.model_names
        if isinstance(node, ast.Attribute) and node.attr in MODELS:
            return _dotted(node.value) in self.module_names | self.dotted
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get_model":
            return _names_a_model([a.value for a in node.args if isinstance(a, ast.Constant)])
        return False

    def _reaches_record(self, node: ast.AST, tainted: set[str]) -> bool:
        """Whether ``node`` is one of the models or something reached from one (a manager, a
        queryset, an instance, a reverse accessor)."""
        while True:
            if self._is_model(node):
                return True
            if isinstance(node, ast.Name):
                return node.id in tainted
            if isinstance(node, ast.Attribute):
                if node.attr in RELATED:
                    return True
                node = node.value
            elif isinstance(node, ast.Call):
                node = node.func
            elif isinstance(node, ast.Subscript):
                node = node.value
            else:
                return False

    # --- reading --------------------------------------------------------------------------------
    def read(self, tree: ast.Module) -> set[Write]:
        self._imports(tree)
        self._scope(tree.body, set())
        for node in ast.walk(tree):
            text = _text(node)
            if text is not None and (match := WRITE_SQL.search(text)):
                self._report(node, f"SQL writes {match.group(1)}")
        return self.found

    def _tainted(self, body: list[ast.stmt], inherited: set[str]) -> set[str]:
        """Names bound, in these statements (nested blocks included, nested functions not), to
        something reached from the record's models, added to the enclosing scope's; to a fixed
        point, so chains of names count."""
        tainted = set(inherited)
        bindings = list(_bindings(body))
        changed = True
        while changed:
            changed = False
            for targets, value in bindings:
                if self._reaches_record(value, tainted):
                    new = {name for target in targets for name in _names(target)} - tainted
                    if new:
                        tainted |= new
                        changed = True
        return tainted

    def _scope(self, body: list[ast.stmt], inherited: set[str]) -> None:
        """The calls of one scope (a module, a function); then each function inside it, a scope of
        its own that sees this one's names."""
        tainted = self._tainted(body, inherited)
        for statement in body:
            for node in _walk_same_scope(statement):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    self._scope(node.body, tainted)
                    continue
                if not isinstance(node, ast.Call):
                    continue
                if self._is_model(node.func):
                    self._report(node, f"constructs {_dotted(node.func) or 'a record model'}")
                elif (
                    isinstance(node.func, ast.Attribute)
                    and node.func.attr in WRITES
                    and self._reaches_record(node.func.value, tainted)
                ):
                    self._report(node, f"{_dotted(node.func) or node.func.attr}()")

    def _report(self, node: ast.AST, what: str) -> None:
        self.found.add(Write(self.path, node.lineno, what))


def _names_a_model(names: list[str]) -> bool:
    if len(names) == 2:
        return names[0] == "voting" and names[1] in MODELS
    if len(names) == 1 and "." in names[0]:
        app, model = names[0].split(".", 1)
        return app == "voting" and model in MODELS
    return False


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def _names(target: ast.AST) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _names(element)
    elif isinstance(target, ast.Starred):
        yield from _names(target.value)


def _walk_same_scope(node: ast.AST) -> Iterator[ast.AST]:
    """``node`` and what it contains; a function is yielded but not entered (a scope of its own)."""
    yield node
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return
    for child in ast.iter_child_nodes(node):
        yield from _walk_same_scope(child)


def _bindings(body: list[ast.stmt]) -> Iterator[tuple[list[ast.AST], ast.AST]]:
    """(targets, value) of every binding in these statements and the blocks inside them."""
    for statement in body:
        for node in _walk_same_scope(statement):
            if isinstance(node, ast.Assign):
                yield node.targets, node.value
            elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr) and node.value is not None:
                yield [node.target], node.value
            elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                yield [node.target], node.iter
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                yield [node.optional_vars], node.context_expr


def _text(node: ast.AST) -> str | None:
    """The text of a string literal, an f-string (its fixed parts) or a ``+`` of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else " {} " for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        if left is not None and right is not None:
            return left + right
    return None
