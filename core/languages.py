"""Language names as they read in running text of the active language (Babel's CLDR names)."""

from babel import Locale, UnknownLocaleError
from django.utils import translation

from .times import babel_locale


def language_name(code: str, default=None) -> str:
    """``code``'s name in the active language as written mid-sentence: "inglés", "español" in
    Spanish ("Texto en inglés"), "English", "Spanish" in English. ``default`` (else the code) when
    Babel does not know the language."""
    reader, babel_code = babel_locale(), translation.to_locale(code or "")
    if name := reader.languages.get(babel_code):  # "Simplified Chinese", "chino simplificado"
        return name
    try:
        return Locale.parse(babel_code).get_display_name(reader) or str(default or code)
    except (UnknownLocaleError, ValueError, TypeError):
        return str(default or code)
