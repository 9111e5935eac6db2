"""No template carries inline script or style: the content security policy forbids both, so they
would silently not run or not apply. Scripts and styles are static files."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=\s*[\"']", re.I)


def templates() -> list[Path]:
    found = list((ROOT / "templates").rglob("*.html"))
    for app in ROOT.iterdir():
        if (app / "templates").is_dir() and app.name not in {".venv", "staticfiles"}:
            found += list((app / "templates").rglob("*.html"))
    return found


def test_no_template_has_inline_script_style_or_event_handlers():
    paths = templates()
    assert len(paths) > 50
    offenders = []
    for path in paths:
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_STYLE):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)!r}" for m in pattern.finditer(text)]
    assert offenders == []
