from celery import shared_task

from . import services  # services dispatches this task: each module reads the other's names at call time


@shared_task(name="audit.tasks.bundle_build", acks_late=True, time_limit=3 * 3600, soft_time_limit=3 * 3600 - 60)
def bundle_build_task(bundle_id: int) -> int:
    """Build one requested bundle. Idempotent: a bundle already built (or being built by another
    worker) is left alone, so a redelivered task does nothing twice."""
    return services.bundle_build(bundle_id=bundle_id).pk
