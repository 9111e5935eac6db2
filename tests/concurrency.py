"""Real concurrent calls for the PostgreSQL tests: each job on a thread (and a database connection)
of its own, all released together."""

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from core.errors import ApplicationError

MAX_WORKERS = 40


def run_at_once(jobs: list) -> list[tuple[str, object]]:
    """Run ``jobs`` (callables) on a pool, released together; return (outcome, value) per job in
    order: ("ok", result) or (error class name, error) for the service's own errors. Anything else
    (IntegrityError, deadlock…) propagates and fails the test."""
    start = threading.Event()

    def wrapped(job):
        def run():
            try:
                assert start.wait(timeout=30)
                return "ok", job()
            except ApplicationError as exc:
                return type(exc).__name__, exc
            finally:
                connection.close()

        return run

    with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
        futures = [pool.submit(wrapped(job)) for job in jobs]
        start.set()
        return [future.result(timeout=60) for future in futures]
