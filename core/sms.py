"""Pluggable SMS backends (``PB_SMS_BACKEND``), used by the outbox (``core.services``) like Django's
email backends. The console backend prints to standard output, like Django's console email backend —
never through logging, which must not carry codes."""

import sys

from django.conf import settings
from django.utils.module_loading import import_string

outbox: list[tuple[str, str]] = []  # the locmem backend's sent messages, for tests


class ConsoleBackend:
    def send(self, phone: str, text: str) -> None:
        sys.stdout.write(f"SMS to {phone}: {text}\n")
        sys.stdout.flush()


class LocmemBackend:
    def send(self, phone: str, text: str) -> None:
        outbox.append((phone, text))


class DisabledBackend:
    """Production's default until a provider is configured: phone verification is unavailable
    (and no code is ever printed to a log)."""

    enabled = False

    def send(self, phone: str, text: str) -> None:
        raise RuntimeError("no SMS provider configured (PB_SMS_BACKEND)")


def sms_enabled() -> bool:
    return getattr(import_string(settings.PB_SMS_BACKEND), "enabled", True)


def sms_send(phone: str, text: str) -> None:
    import_string(settings.PB_SMS_BACKEND)().send(phone, text)
