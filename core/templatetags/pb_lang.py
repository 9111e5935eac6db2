"""Text written in a language other than the page's, marked so screen readers pronounce it right.

A project's text falls back to the cycle's main language when it has none in the reader's
(``Project.text()``); wherever such a text is shown, these filters wrap it in an element with its
``lang`` (and ``dir`` when the direction differs from the page's). Text in the page's language is
left as it is, so pages carry no needless markup.
"""

from django import template
from django.conf.locale import LANG_INFO
from django.utils import translation
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

register = template.Library()


def _base(code: str) -> str:
    return (code or "").lower().split("-")[0]


def same_language(code: str, page: str | None = None) -> bool:
    """Whether text in ``code`` reads as the page's language (default: the active one): "es"
    matches "es" and "es-mx"; "zh-hans" and "zh-hant" are told apart."""
    page = (page or translation.get_language() or "en").lower()
    code = (code or "").lower()
    return code == page or code == _base(page) or _base(code) == page


def _direction(code: str) -> str:
    """The ``dir`` the element needs: its own direction when it differs from the page's, else ""."""
    rtl = LANG_INFO.get(code.lower(), {}).get("bidi", False)
    if rtl == translation.get_language_bidi():
        return ""
    return "rtl" if rtl else "ltr"


def _wrap(tag: str, value, code: str, autoescape: bool):
    text = conditional_escape(value) if autoescape else value
    if not code or same_language(code):
        return mark_safe(text)  # noqa: S308 - escaped above (or the template turned autoescape off)
    direction = _direction(code)
    if direction:
        return format_html('<{} lang="{}" dir="{}">{}</{}>', tag, code, direction, text, tag)
    return format_html('<{} lang="{}">{}</{}>', tag, code, text, tag)


@register.filter(needs_autoescape=True)
def lang(value, code, autoescape=True):
    """``{{ text.title|lang:text.language }}`` → ``<span lang="en">Benches</span>`` on a Spanish
    page; the bare (escaped) title on an English one. Inline: titles, summaries, labels."""
    return _wrap("span", value, code, autoescape)


@register.filter(needs_autoescape=True)
def lang_block(value, code, autoescape=True):
    """``{{ text.description|linebreaks|lang_block:text.language }}`` → the paragraphs in a
    ``<div lang="en">`` when the text is not in the page's language."""
    return _wrap("div", value, code, autoescape)
