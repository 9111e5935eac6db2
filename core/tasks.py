from celery import shared_task

from . import services  # services dispatches these tasks: each module reads the other's names at call time


@shared_task(name="core.tasks.notification_deliver", acks_late=True, max_retries=5, default_retry_delay=30)
def notification_deliver_task(notification_id: int) -> bool:
    """Idempotent: a notification already sent is not sent again."""
    return services.notification_deliver(notification_id=notification_id)


@shared_task(name="core.tasks.notifications_retry_unsent", acks_late=True)
def notifications_retry_unsent_task(older_than_seconds: int = 10) -> int:
    """The outbox drain: batch after batch until the backlog is gone or its time budget is spent.
    Several can run at once (rows are claimed with SKIP LOCKED); each row is sent once. Records the
    run (the scheduler's heartbeat)."""
    sent = services.notifications_retry_unsent(older_than_seconds=older_than_seconds)
    services.scheduler_heartbeat_record(task=notifications_retry_unsent_task.name)
    return sent
