"""The greedy reference outcomes of the Pabulib test files are what bench/reference/greedy_reference.py,
an implementation of Pabulib's greedy that shares no code with ours, computes from the `.pb` files: it
checks every committed reference, writes them back byte for byte, and notices a wrong one."""

import json
import shutil
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = ROOT / "bench" / "reference" / "greedy_reference.py"


def references() -> list:
    return sorted(
        path for path in ROOT.glob("*/tests/data/pabulib/*.expected.json") if "greedy" in json.loads(path.read_text())
    )


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120)


def test_the_script_reproduces_every_committed_greedy_reference():
    expected = references()
    kinds = {json.loads(path.read_text())["vote_type"] for path in expected}
    assert {"cumulative", "ordinal", "approval", "choose-1"} <= kinds
    checked = run()
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert len(lines) == len(expected)
    assert all(line.endswith(", ok") for line in lines), checked.stdout
    assert sum("(cumulative)" in line or "(ordinal)" in line for line in lines) == 5


def test_written_references_are_the_committed_files_byte_for_byte(tmp_path):
    for reference in references():
        shutil.copy(reference.with_name(reference.name.replace(".expected.json", ".pb")), tmp_path)
        shutil.copy(reference, tmp_path)
        data = json.loads(reference.read_text())
        data["greedy"] = []
        (tmp_path / reference.name).write_text(json.dumps(data, indent=1))
    written = run("--write", *sorted(tmp_path.glob("*.pb")))
    assert written.returncode == 0, written.stdout + written.stderr
    for reference in references():
        assert (tmp_path / reference.name).read_bytes() == reference.read_bytes(), reference.name


def test_a_wrong_reference_is_reported(tmp_path):
    (ordinal,) = [path for path in references() if path.name.startswith("Poland_Krakow_2020")]
    pb = shutil.copy(ordinal.with_name(ordinal.name.replace(".expected.json", ".pb")), tmp_path)
    data = json.loads(ordinal.read_text())
    data["greedy"] = data["greedy"][1:]
    (tmp_path / ordinal.name).write_text(json.dumps(data, indent=1))
    checked = run(pb)
    assert checked.returncode == 1
    assert "differs: reference" in checked.stdout
