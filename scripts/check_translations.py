"""Check the committed translations: every translatable string in the source is in each .po file,
and each committed .mo holds exactly what its .po says. Needs GNU gettext (xgettext, msgfmt)."""

import gettext
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"


def catalog(mo_path: Path) -> dict:
    with open(mo_path, "rb") as fh:
        return dict(gettext.GNUTranslations(fh)._catalog)


def _strip_header(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith('"POT-Creation-Date:'))


def main() -> int:
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_root = Path(tmp) / "src"
        shutil.copytree(
            ROOT,
            tmp_root,
            ignore=shutil.ignore_patterns(".venv", ".git", "node_modules", "staticfiles", "media", "bench"),
        )
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pbplatform.settings.test"}
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "--all", "--no-obsolete", "--add-location", "file"],
            cwd=tmp_root,
            env=env,
            check=True,
            capture_output=True,
        )
        for po in sorted(LOCALE.glob("*/LC_MESSAGES/django.po")):
            rel = po.relative_to(ROOT)
            if _strip_header(po.read_text()) != _strip_header((tmp_root / rel).read_text()):
                problems.append(f"{rel} is out of date with the source: run `make messages` and translate")
            stats = subprocess.run(
                ["msgfmt", "--statistics", "-o", str(Path(tmp) / "check.mo"), str(po)],
                check=True,
                capture_output=True,
                text=True,
            ).stderr
            if "untranslated" in stats or "fuzzy" in stats:
                problems.append(f"{rel}: {stats.strip()}")
            mo = po.with_suffix(".mo")
            if not mo.exists():
                problems.append(f"{mo.relative_to(ROOT)} is missing: run `make messages`")
            elif catalog(mo) != catalog(Path(tmp) / "check.mo"):
                problems.append(f"{mo.relative_to(ROOT)} does not match its .po: run `make messages`")
    for p in problems:
        print(p)
    if not problems:
        print("Translations are current.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
