"""An auditor without the platform: ``python -m pbverify`` checks a bundle the platform wrote, in a
process where Django and every app of the platform cannot be imported, and prints what
``manage.py pb_verify`` prints, with the same exit status."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from budgets.demo import DEMO_SLUG

from .builders import bundle_files, bundle_reseal, csv_bytes, csv_rows

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ("django", "pbplatform", "core", "accounts", "budgets", "allocation", "proposals", "voting", "audit")
STANDALONE = """
import runpy, sys
for name in {blocked!r}:
    sys.modules[name] = None  # any import of it raises ImportError
sys.argv = ["pbverify", {bundle!r}]
runpy.run_module("pbverify", run_name="__main__", alter_sys=True)
"""


def standalone(bundle: Path, *, without: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``python -m pbverify BUNDLE`` in a fresh process that cannot import the platform (nor ``without``)."""
    code = STANDALONE.format(blocked=PLATFORM + without, bundle=str(bundle))
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture
def demo_bundle(tmp_path):
    """The demo counted and certified (a greedy and a mes ward among them), as an auditor bundle."""
    call_command("load_demo", phase="results", quiet_logins=True, stdout=io.StringIO())
    path = tmp_path / "demo.zip"
    call_command("audit_bundle", DEMO_SLUG, out=str(path), stdout=io.StringIO())
    return path


def test_a_real_bundle_verifies_without_the_platform_with_the_commands_report(demo_bundle):
    manifest = json.loads(bundle_files(demo_bundle)["manifest.json"])
    assert {d["rule"] for d in manifest["districts"]} == {"greedy", "mes"}  # both rules are re-counted
    out = io.StringIO()
    call_command("pb_verify", str(demo_bundle), stdout=out)

    done = standalone(demo_bundle)

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == out.getvalue()
    assert done.stdout.rstrip().endswith("every check passed.")
    for check in ("manifest", "design", "ballots", "turnout", "tally", "audit log", "paper"):
        assert f"ok   {check}:" in done.stdout


def test_without_numpy_the_recount_is_the_same(demo_bundle):
    done = standalone(demo_bundle, without=("numpy",))
    assert done.returncode == 0, done.stderr
    assert done.stdout == standalone(demo_bundle).stdout


def test_a_tampered_bundle_fails_without_the_platform_as_the_command_does(demo_bundle, tmp_path):
    files = bundle_files(demo_bundle)
    rows = csv_rows(files["ballots.csv"])
    row = next(r for r in rows[1:] if r[1] == "A" and r[3] and "," not in r[3])
    row[3] = "A-99"  # not on ward A's ballot
    forged = bundle_reseal({**files, "ballots.csv": csv_bytes(rows)}, tmp_path / "forged.zip")
    with pytest.raises(CommandError) as failure:
        call_command("pb_verify", str(forged), stdout=io.StringIO())

    done = standalone(forged)

    assert done.returncode == 1
    assert done.stderr.strip() == str(failure.value)
    assert done.stderr.startswith(f"Verification failed at ballots: ballot {row[0]} (district A)")
    assert "FAIL ballots:" in done.stdout
