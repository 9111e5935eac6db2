"""core.publish: a task is published after commit, never for a rolled-back change, and a broker that is
down or hung never fails or holds up the request."""

import logging
import threading
from unittest import mock

import pytest
from celery import shared_task
from django.db import transaction

from core.publish import THREAD_PREFIX, task_publish, task_publish_on_commit

CALLS: list[tuple] = []


@shared_task(name="core.tests.test_publish.record")
def record(*args, **kwargs):
    CALLS.append((args, kwargs))


@shared_task(name="core.tests.test_publish.broken")
def broken():
    raise RuntimeError("a bug in the task")


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    yield
    CALLS.clear()


@pytest.fixture
def broker_mode():
    """The app server's mode: tasks go to a broker (not run in-process)."""
    conf = record.app.conf
    was = conf.task_always_eager
    conf.task_always_eager = False
    yield
    conf.task_always_eager = was


def _join_publishers():
    for thread in threading.enumerate():
        if thread.name.startswith(THREAD_PREFIX):
            thread.join(10)


@pytest.mark.django_db
def test_eager_mode_runs_the_task_once_the_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        task_publish_on_commit(record, 7, rules=["mes"])
    assert CALLS == []  # nothing inside the transaction
    [commit] = callbacks
    commit()
    assert CALLS == [((7,), {"rules": ["mes"]})]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_publishes_nothing():
    with pytest.raises(ValueError), transaction.atomic():
        task_publish_on_commit(record, 1)
        raise ValueError("the change fails")
    task_publish_on_commit(record, 2)  # outside a transaction: at once
    assert CALLS == [((2,), {})]


def test_a_failing_task_in_eager_mode_is_logged_not_raised(caplog):
    with caplog.at_level(logging.WARNING, logger="core.publish"):
        task_publish(broken)
    [line] = [r for r in caplog.records if r.name == "core.publish"]
    assert "core.tests.test_publish.broken() not dispatched (RuntimeError)" in line.getMessage()
    assert line.exc_info  # where the bug is


def test_a_broker_that_is_down_is_logged_and_the_caller_goes_on(broker_mode, caplog):
    down = mock.patch.object(record, "apply_async", side_effect=ConnectionRefusedError("broker down"))
    with down, caplog.at_level(logging.WARNING, logger="core.publish"):
        task_publish(record, 5, site="library")
        _join_publishers()
    messages = [r.getMessage() for r in caplog.records if r.name == "core.publish"]
    assert messages == ["core.tests.test_publish.record(5, site='library') not dispatched (ConnectionRefusedError)"]
    assert CALLS == []


def test_a_hung_broker_does_not_hold_up_the_caller(broker_mode):
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def hang(*args, **kwargs):
        started.set()
        release.wait(10)  # a Redis that accepts the connection and never answers
        finished.set()

    with mock.patch.object(record, "apply_async", side_effect=hang):
        task_publish(record, 3)
        returned_while_hung = not finished.is_set()  # a publish in the caller would have waited here
        assert started.wait(10)  # the publish did start, on its own thread
        release.set()
        _join_publishers()
    assert returned_while_hung
    assert finished.is_set()


def test_in_broker_mode_the_task_goes_to_the_broker_on_a_named_thread(broker_mode):
    seen = []

    def publish(*, args, kwargs, retry):
        seen.append((threading.current_thread().name, args, kwargs, retry))

    with mock.patch.object(record, "apply_async", side_effect=publish):
        task_publish(record, 4, rules=None)
        _join_publishers()
    assert seen == [(f"{THREAD_PREFIX}core.tests.test_publish.record", (4,), {"rules": None}, False)]
    assert CALLS == []  # published, not run here
