"""Who and where a request comes from, for the audit log (set by RequestContextMiddleware).

Services take the acting user explicitly; the client IP is ambient request context, read here so
that it need not be threaded through every service call.
"""

import contextvars

_client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


def get_client_ip() -> str | None:
    return _client_ip.get()


def set_client_ip(ip: str | None):
    return _client_ip.set(ip)


def reset_client_ip(token) -> None:
    _client_ip.reset(token)
