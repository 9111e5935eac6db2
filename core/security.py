"""Refused requests are security logging, not the election's record.

A refusal changes nothing, so it is not an audit event: it goes to the ``pbplatform.security``
logger instead, outside the hash chain and outside any transaction (no database write at all, so a
flood of anonymous requests neither grows the audit log nor waits for its lock). The log line names
who (actor type and id, client IP), what (method and path, redacted: no query string, nothing shaped
like a code), the refusal's reason and the answer's status — never the request body.

Rate-limited per client (the account, else the IP) through the cache: at most
``settings.PB_DENIAL_LOG_PER_MINUTE`` lines a minute; the first refusal over the limit says that the
rest of that minute is not logged. A cache that does not answer never stops the logging (it only
loses the limit).
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache

from .context import get_client_ip
from .logging import redact

logger = logging.getLogger("pbplatform.security")

DENIAL = "access.denied"
_WINDOW = 60  # seconds


def _client_key(actor_type: str, actor_id: int | None, ip: str | None) -> str:
    who = f"user:{actor_id}" if actor_id is not None else f"ip:{ip or '-'}"
    return f"pb:denials:{who}:{int(time.time() // _WINDOW)}"


def _count(key: str) -> int:
    """How many refusals this client had in the current window, this one included (1 when the
    cache does not answer)."""
    try:
        cache.add(key, 0, timeout=_WINDOW * 2)
        return int(cache.incr(key) or 1)
    except Exception:  # noqa: BLE001 - a cache outage must not turn a refusal into an error
        return 1


def denial_log(*, request, reason: str = "", object_type: str = "", object_id: str = "", status: int | None = None):
    """Log one refused request (see the module docstring). Returns whether a line was written."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        actor_type, actor_id = "user", user.pk
    else:
        actor_type, actor_id = "anonymous", None
    ip = get_client_ip()
    limit = settings.PB_DENIAL_LOG_PER_MINUTE
    count = _count(_client_key(actor_type, actor_id, ip))
    if count > limit + 1:
        return False
    path = redact(request.path)[:200]
    denial = {
        "action": DENIAL,
        "actor_type": actor_type,
        "actor_id": actor_id,
        "ip": ip,
        "method": request.method,
        "path": path,
        "object_type": object_type,
        "object_id": redact(str(object_id))[:64],
        "reason": str(reason),
        "status": status,
    }
    if count == limit + 1:
        logger.warning(
            "access denied: %s %s (%s %s, ip %s); more than %s refusals this minute, the rest are not logged",
            request.method,
            path,
            actor_type,
            actor_id or "-",
            ip or "-",
            limit,
            extra={"denial": {**denial, "suppressing": True}},
        )
        return True
    logger.warning(
        "access denied: %s %s (%s %s, ip %s) status %s: %s",
        request.method,
        path,
        actor_type,
        actor_id or "-",
        ip or "-",
        status or "-",
        reason,
        extra={"denial": denial},
    )
    return True
