"""What a process loads when Django starts: every command and every server worker pays for it, so the
libraries only some requests use are imported where they are used (bench/README.md, "Tally command")."""

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
ON_FIRST_USE = ("scourgify", "usaddress", "PIL", "cryptography", "numpy")

LOADED = """
import json, sys
import django
django.setup()
print(json.dumps(sorted(name for name in {names!r} if name in sys.modules)))
"""


def test_start_up_leaves_the_address_parser_pillow_cryptography_and_numpy_for_first_use():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pbplatform.settings.test"}
    done = subprocess.run(
        [sys.executable, "-c", LOADED.format(names=ON_FIRST_USE)], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
