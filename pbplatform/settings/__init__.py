"""Settings package: base (shared), local (a developer's machine), test, production.

Pick one with DJANGO_SETTINGS_MODULE; manage.py defaults to ``local``.
"""
