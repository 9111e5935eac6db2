"""The project's structure, read from its imports (``ast``, nothing is imported or run).

The apps stack in one order, and every import between two of them runs downwards:

    pbverify < core < accounts < budgets < proposals < voting < allocation < audit < pbplatform

``pbverify`` (the standalone verifier) imports neither Django nor any app. Production code (every
module of an app but its tests and migrations) imports project modules at module level only, never
in a function, a class body or under a condition (``if TYPE_CHECKING:`` aside): an import hidden in
a function to dodge a circle means the code sits in the wrong app. No two files import each other,
directly or round a longer circle, except a services module and its own tasks module (the service
dispatches the task, the task calls the service; each reads the other's names at call time). And no
module reaches for another module's private names (``_name``): a name used by two modules is public,
or lives in the module both need.

Each failure names the file and the line.
"""

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["pbverify", "core", "accounts", "budgets", "proposals", "voting", "allocation", "audit", "pbplatform"]
RANK = {app: rank for rank, app in enumerate(ORDER)}
# What the standalone verifier may not import, besides the apps.
NOT_IN_PBVERIFY = ("django", "rest_framework", "drf_spectacular", "allauth", "celery", "kombu", "environ")

# Imports of project modules allowed below module level: (file, imported module), each with its
# reason. Django loads models only once every app's config is imported, so a module that imports
# models cannot be imported at the top of an ``apps.py``: ``AppConfig.ready()`` imports the module
# that registers the app's receivers and start-up hooks — Django's own idiom, and nothing else.
NESTED_ALLOWED = {
    ("accounts/apps.py", "accounts.signals"),  # connects the receivers that audit role changes
    ("pbplatform/apps.py", "pbplatform.wiring"),  # the phase machine, the answers handed down, the demo
}

# Private names imported across modules: (file, module, name), each with its reason.
PRIVATE_ALLOWED: set[tuple[str, str, str]] = set()


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, e.g. "core.services"
    path: str  # its file, relative to the root
    line: int
    target: str  # the imported project module (or, outside the project, the imported name)
    nested: bool  # in a function, a class body or under a condition
    type_only: bool  # under ``if TYPE_CHECKING:``


@dataclass
class Project:
    root: Path
    files: dict[str, str] = field(default_factory=dict)  # module → path
    trees: dict[str, ast.Module] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)
    private: list[tuple[str, int, str]] = field(default_factory=list)  # (path, line, what) per private name


def production_modules(root: Path) -> dict[str, Path]:
    modules = {}
    for app in ORDER:
        for path in sorted((root / app).rglob("*.py")):
            rel = path.relative_to(root)
            if "tests" in rel.parts or "migrations" in rel.parts:
                continue
            name = ".".join(rel.with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(tree: ast.Module):
    """(import statement, nested, type_only) for every import of the module."""

    def walk(statements, nested, type_only):
        for statement in statements:
            if isinstance(statement, ast.Import | ast.ImportFrom):
                yield statement, nested, type_only
            elif isinstance(statement, ast.If) and _type_checking(statement):
                yield from walk(statement.body, nested, True)
                yield from walk(statement.orelse, True, type_only)
            else:
                inner = [child for child in ast.iter_child_nodes(statement) if isinstance(child, ast.stmt)]
                for handler in getattr(statement, "handlers", []):  # try: … except: …
                    inner += handler.body
                for case in getattr(statement, "cases", []):  # match: case …
                    inner += case.body
                yield from walk(inner, True, type_only)

    yield from walk(tree.body, False, False)


def load(root: Path) -> Project:
    project = Project(root=root)
    for module, path in production_modules(root).items():
        project.files[module] = str(path.relative_to(root))
        project.trees[module] = ast.parse(path.read_text(), filename=str(path))
    for module, tree in project.trees.items():
        path = project.files[module]
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        bound: dict[str, str] = {}  # local name → the project module it names
        for node, nested, type_only in _statements(tree):
            for target, local, name in _targets(project, node, package):
                project.imports.append(Import(module, path, node.lineno, target, nested, type_only))
                if local and target in project.files:
                    bound[local] = target
                private = name and name.startswith("_") and not name.startswith("__")
                if private and _app(target) in RANK and (path, target, name) not in PRIVATE_ALLOWED:
                    project.private.append((path, node.lineno, f"imports {name} from {target}, a private name"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = _module_of(project, node.value, bound)
                if owner is not None:
                    project.private.append((path, node.lineno, f"reads {owner}.{node.attr}, a private name"))
    return project


def _resolve(project: Project, dotted: str) -> str:
    """The project module a dotted name is in: itself, or its longest prefix that is a module."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in project.files:
            return candidate
    return dotted


def _targets(project: Project, node, package: str):
    """(imported module, local name when it names that module, imported name) per name imported;
    the imported name is None for ``import x`` and when the name is the module itself."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            target = _resolve(project, alias.name)
            if alias.asname:
                yield target, (alias.asname if target == alias.name else None), None
            else:  # ``import a.b`` binds ``a``
                first = alias.name.partition(".")[0]
                yield target, (first if first in project.files else None), None
        return
    if node.level:
        parts = package.split(".")
        origin = ".".join(parts[: len(parts) - (node.level - 1)] + ([node.module] if node.module else []))
    else:
        origin = node.module or ""
    for alias in node.names:
        submodule = f"{origin}.{alias.name}"
        if submodule in project.files:
            yield submodule, alias.asname or alias.name, None
        else:
            yield _resolve(project, origin), None, (None if alias.name == "*" else alias.name)


def _module_of(project: Project, node, bound: dict[str, str]) -> str | None:
    """The project module an expression such as ``services`` or ``voting.services`` names, or None."""
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _module_of(project, node.value, bound)
        if owner is not None and f"{owner}.{node.attr}" in project.files:
            return f"{owner}.{node.attr}"
    return None


def _app(module: str) -> str:
    return module.partition(".")[0]


# --- the rules -----------------------------------------------------------------------------------------
def _listed(problems) -> list[str]:
    """``path:line: what``, in file and line order."""
    return [f"{path}:{line}: {what}" for path, line, what in sorted(set(problems))]


def climbing_imports(project: Project) -> list[str]:
    problems = []
    for imp in project.imports:
        source, target = _app(imp.source), _app(imp.target)
        if source == "pbverify" and ((target in RANK and target != "pbverify") or target in NOT_IN_PBVERIFY):
            problems.append((imp.path, imp.line, f"pbverify imports {imp.target}: it stands alone"))
        elif target in RANK and RANK[target] > RANK[source]:
            problems.append((imp.path, imp.line, f"imports {imp.target}, but {target} is above {source}"))
    return _listed(problems)


def nested_imports(project: Project) -> list[str]:
    return _listed(
        (imp.path, imp.line, f"imports {imp.target} below module level")
        for imp in project.imports
        if imp.nested
        and not imp.type_only
        and _app(imp.target) in RANK
        and (imp.path, imp.target) not in NESTED_ALLOWED
    )


def _service_and_its_tasks(modules: set[str]) -> bool:
    if len(modules) != 2:
        return False
    one, other = sorted(modules, key=lambda m: m.rpartition(".")[2] != "tasks")
    return (
        one.rpartition(".")[2] == "tasks"
        and _app(one) == _app(other)
        and "services" in other.split(".")
        and other.split(".")[: len(one.split(".")) - 1] == one.split(".")[:-1]
    )


def import_circles(project: Project) -> list[str]:
    edges: dict[str, dict[str, Import]] = {module: {} for module in project.files}
    for imp in project.imports:
        if imp.type_only or imp.target not in project.files or imp.target == imp.source:
            continue
        edges[imp.source].setdefault(imp.target, imp)
    problems = []
    for component in _strongly_connected(edges):
        if len(component) < 2 or _service_and_its_tasks(component):
            continue
        circle = _circle(edges, component)
        steps = [f"{edges[a][b].path}:{edges[a][b].line} ({a} → {b})" for a, b in zip(circle, circle[1:], strict=False)]
        files = ", ".join(sorted(project.files[module] for module in component))
        problems.append(f"import circle between {files}: " + ", ".join(steps))
    return sorted(problems)


def _strongly_connected(edges: dict[str, dict[str, Import]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively (no recursion limit to meet)."""
    index, low, on_stack, stack, components, counter = {}, {}, set(), [], [], [0]
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _circle(edges: dict[str, dict[str, Import]], component: set[str]) -> list[str]:
    """One circle through the component's first module: a shortest path back to it."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges[node]):
                if child == start:
                    return [*paths[node], start]
                if child in component and child not in paths:
                    paths[child] = [*paths[node], child]
                    following.append(child)
        frontier = following
    return [start, start]


def private_names(project: Project) -> list[str]:
    return _listed(project.private)


# --- the tests -----------------------------------------------------------------------------------------
def _report(problems: list[str]) -> str:
    return f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_imports_between_apps_run_downwards_and_pbverify_stands_alone():
    problems = climbing_imports(load(ROOT))
    assert not problems, _report(problems)


def test_production_code_imports_project_modules_at_module_level():
    problems = nested_imports(load(ROOT))
    assert not problems, _report(problems)


def test_no_two_files_import_each_other_but_a_service_and_its_tasks():
    problems = import_circles(load(ROOT))
    assert not problems, _report(problems)


def test_no_module_imports_another_modules_private_names():
    problems = private_names(load(ROOT))
    assert not problems, _report(problems)


def test_the_allow_lists_name_files_that_exist():
    for path, *_rest in NESTED_ALLOWED | PRIVATE_ALLOWED:
        assert (ROOT / path).is_file(), path


def test_each_rule_catches_what_it_claims(tmp_path):
    """The rules on a small made-up project, one fault of each kind, each reported at its line."""
    files = {
        "core/__init__.py": "",
        "core/services.py": (
            "from . import tasks\n\n\ndef send():\n    from voting.sms import sms_send\n    return sms_send, tasks\n"
        ),
        "core/tasks.py": "from . import services\n",
        "core/tests/test_x.py": "def test():\n    from voting import views\n",
        "core/migrations/0001_initial.py": "from voting.models import Ballot\n",
        "accounts/__init__.py": "",
        "accounts/a.py": "from .b import thing\n",
        "accounts/b.py": (
            "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from .c import C\nfrom .c import c\n"
        ),
        "accounts/c.py": "from . import a\n",
        "voting/__init__.py": "",
        "voting/sms.py": "def sms_send(): ...\n",
        "voting/views.py": "def _gate(): ...\n",
        "voting/views_paper.py": "from .views import _gate\nfrom . import views\n\nviews._gate()\n",
        "pbverify/__init__.py": "import django\nfrom core import services\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    project = load(tmp_path)

    assert climbing_imports(project) == [
        "core/services.py:5: imports voting.sms, but voting is above core",
        "pbverify/__init__.py:1: pbverify imports django: it stands alone",
        "pbverify/__init__.py:2: pbverify imports core.services: it stands alone",
    ]
    assert nested_imports(project) == ["core/services.py:5: imports voting.sms below module level"]
    # core.services ⇄ core.tasks is allowed; the circle of accounts' a → b → c → a is not (the
    # import under TYPE_CHECKING runs nothing and is no part of it).
    assert import_circles(project) == [
        "import circle between accounts/a.py, accounts/b.py, accounts/c.py: accounts/a.py:1 (accounts.a → accounts.b), "
        "accounts/b.py:5 (accounts.b → accounts.c), accounts/c.py:1 (accounts.c → accounts.a)"
    ]
    assert private_names(project) == [
        "voting/views_paper.py:1: imports _gate from voting.views, a private name",
        "voting/views_paper.py:4: reads voting.views._gate, a private name",
    ]
