"""pbverify stands alone: every module imports only the standard library and pbverify itself (numpy
optionally, where the method of equal shares falls back to exact rounds without it), and it runs
without Django. The check of a real bundle made by the platform is in audit/tests."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
OPTIONAL = {"numpy"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_module_imports_only_the_standard_library_and_pbverify():
    modules = [path for path in PACKAGE.rglob("*.py") if "tests" not in path.relative_to(PACKAGE).parts]
    assert {path.name for path in modules} >= {"verify.py", "pabulib.py", "chain.py", "__main__.py"}
    for path in modules:
        outside = _imports(path) - set(sys.stdlib_module_names) - OPTIONAL - {"pbverify", "__future__"}
        assert not outside, f"{path.relative_to(PACKAGE)} imports {sorted(outside)}"


def test_python_m_pbverify_runs_with_django_blocked_and_explains_its_usage():
    blocked = "import runpy, sys; sys.modules['django'] = None; sys.argv = ['pbverify']; "
    done = subprocess.run(
        [sys.executable, "-c", blocked + "runpy.run_module('pbverify', run_name='__main__', alter_sys=True)"],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2  # a usage error: the bundle is missing
    assert "usage: python -m pbverify" in done.stderr and "bundle" in done.stderr


def test_the_install_recipe_lists_every_subpackage():
    recipe = tomllib.loads((PACKAGE / "pyproject.toml").read_text(encoding="utf-8"))
    subpackages = sorted(
        "pbverify." + ".".join(init.parent.relative_to(PACKAGE).parts)
        for init in PACKAGE.rglob("__init__.py")
        if init.parent != PACKAGE and "tests" not in init.relative_to(PACKAGE).parts
    )
    assert recipe["tool"]["setuptools"]["packages"] == ["pbverify", *subpackages]
    assert recipe["project"]["dependencies"] == []
    assert recipe["project"]["scripts"]["pbverify"] == "pbverify.__main__:main"
