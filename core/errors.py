"""One error type for the domain, with named subclasses; messages are constants tests assert.

Services raise these; the DRF exception handler (core/api.py) turns them into RFC 7807 problem
details, and HTML views show them as form errors or messages.
"""

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    status = 400
    code = "invalid"
    default_message = _("The request could not be completed.")
    retry_after: int | None = None  # seconds; when set, the response carries Retry-After

    def __init__(self, message=None, *, extra: dict | None = None):
        self.message = message if message is not None else self.default_message
        self.extra = extra or {}
        super().__init__(str(self.message))


class ValidationFailed(ApplicationError):
    """Bad input: ``extra`` maps field names to lists of messages."""

    status = 400
    code = "invalid"
    default_message = _("Some of the information is not valid.")


class NotAllowed(ApplicationError):
    status = 403
    code = "forbidden"
    default_message = _("You are not allowed to do this.")


class NotFound(ApplicationError):
    status = 404
    code = "not_found"
    default_message = _("Not found.")


class Conflict(ApplicationError):
    """The request is valid but conflicts with the current state (e.g. a closed phase)."""

    status = 409
    code = "conflict"
    default_message = _("This conflicts with the current state.")


class PhaseClosed(Conflict):
    code = "phase_closed"
    default_message = _("This is not possible in the cycle's current phase.")


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"
    default_message = _("The cycle cannot move to that phase from its current phase.")


class GuardFailed(Conflict):
    code = "transition_guard_failed"
    default_message = _("The cycle is not ready to move to that phase.")


class PayloadTooLarge(ApplicationError):
    """The request body is larger than the API accepts; it was not read."""

    status = 413
    code = "too_large"
    default_message = _("The request is too large.")


class ServiceUnavailable(ApplicationError):
    """The database cannot be reached: nothing was done, and the client may try again."""

    status = 503
    code = "unavailable"
    default_message = _("The service is unavailable for a moment. Please try again shortly.")
    retry_after = 30  # seconds, sent as Retry-After


class ServerError(ApplicationError):
    """A bug: what the API answers, as a problem, when nothing else handled an exception."""

    status = 500
    code = "server_error"
    default_message = _("Something went wrong on our side. The error has been logged.")
