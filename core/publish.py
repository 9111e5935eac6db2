"""Hand a Celery task to the broker once the caller's transaction commits, without ever letting the
broker fail or slow the request.

The row a task works on (an outbox notification, a queued bundle, a requested tally) is written and
committed first; publishing the task is only a nudge. So a publish must never undo or delay the
change: it runs after commit (never for a transaction that rolled back), on a short-lived
background thread (a refused, slow or hung Redis costs the request nothing), and a failure is only
logged — whatever the task was for waits in its row, for the periodic retry or for the person to ask
again. In eager mode (tests, scripts without a worker: ``CELERY_TASK_ALWAYS_EAGER``) the task runs
right here instead, and an error it raises is logged the same way.

The background threads are named ``dispatch-<task name>``: a short script that must let them finish
before it exits joins them by that name.
"""

import functools
import logging
import threading

from django.db import transaction

logger = logging.getLogger(__name__)

THREAD_PREFIX = "dispatch-"


def task_publish(task, *args, **kwargs) -> None:
    """Publish ``task(*args, **kwargs)`` now, never raising and never waiting for the broker."""
    eager = bool(task.app.conf.task_always_eager)

    def publish() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs, retry=False)
        except Exception as error:  # noqa: BLE001 - the committed row waits for a retry; the request goes on
            called = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            # In eager mode the error is the task's own (a bug): show where it happened.
            logger.warning("%s(%s) not dispatched (%s)", task.name, called, type(error).__name__, exc_info=eager)

    if eager:
        publish()
        return
    try:
        threading.Thread(target=publish, name=f"{THREAD_PREFIX}{task.name}", daemon=True).start()
    except RuntimeError:  # no thread to be had: the same as a broker that is down
        logger.warning("task %s not dispatched (no thread to publish it)", task.name)


def task_publish_on_commit(task, *args, **kwargs) -> None:
    """Publish ``task(*args, **kwargs)`` once the current transaction commits (at once outside one;
    never if it rolls back), as ``task_publish`` does."""
    transaction.on_commit(functools.partial(task_publish, task, *args, **kwargs))
