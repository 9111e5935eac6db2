"""gunicorn for production-like runs (`make serve`). Scale out by running more of these."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = 30
# The access log never carries query strings (%(U)s is the path alone) or request bodies.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'


def post_worker_init(worker):
    """Once the application is loaded, move its long-lived objects (modules, models, URL patterns,
    templates) out of the garbage collector's view: a full collection then walks only what
    requests create, instead of pausing a request for tens of milliseconds."""
    import gc

    gc.freeze()
