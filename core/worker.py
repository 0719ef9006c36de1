"""The django-q2 cluster as a process that stops cleanly (manage.py run_worker).

django-q2's own `qcluster` does not survive a stop: a process manager's SIGTERM reaches every process of
its group, and the cluster's sentinel and workers die on it at once, losing the task in hand, while
the main process waits on them. Here:

- the cluster (its sentinel and everything it forks) runs in a process group of its own, so a stop
  signal reaches only the main process, which then stops the cluster in order: no new tasks, the
  running ones finish;
- a task that is still running WORKER_STOP_GRACE_SECONDS after the stop began is interrupted where it
  declared it may be (`stoppable()`, around the payment gateway call): it raises `WorkStopped` there,
  and the task records what that means (an interrupted payment attempt is handed back and retried at
  once, see orders/services/);
- every process of the cluster dies with its parent (Linux's parent-death signal), so killing the
  main process, even with SIGKILL, leaves nothing behind;
- its processes keep their database connection from task to task (checked before each task), instead
  of opening one per task and per broker poll as CONN_MAX_AGE=0, right for web processes, would have;
- with Redis as the broker (`RedisBroker`, the deployed layout), a worker waits on the queue and takes a
  task the moment it is queued; Redis going away costs one WARNING and a wait, not the pusher process.

Send the stop signal to the main process only (honcho does; with systemd use `KillMode=mixed`). A
SIGTERM to every process of the cluster at once kills the sentinel and workers on the spot: that is a
crash (an attempt in flight counts as lost after its timeout), and the main process then exits within
STOP_LIMIT_SECONDS instead of waiting on the dead cluster.
"""

import ctypes
import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from django_q.brokers.redis_broker import Redis as DjangoQRedisBroker
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.tasks import async_task

from core import redis_state
from core.collector import quiet_garbage_collection

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
STOP_SIGNAL = signal.SIGUSR1  # main process -> cluster: interrupt stoppable work now
STOP_LIMIT_SECONDS = 5.0  # after the grace: an interrupted task's bookkeeping and the cluster's own stop
# A cluster's processes reconnect this often at most (a connection is also checked before each task).
DB_CONNECTION_MAX_AGE_SECONDS = 300

_generation = 0  # 0 in the main process, 1 in the sentinel, 2 in the processes it forks
_in_stoppable_work = False
_stop_requested = False


class WorkStopped(BaseException):
    """Raised inside `stoppable()` when the worker is stopping and the grace period is over."""


@contextmanager
def stoppable() -> Iterator[None]:
    """Mark work that may be cut short when the worker stops (it must be safe to redo)."""
    global _in_stoppable_work
    if _stop_requested:
        raise WorkStopped
    _in_stoppable_work = True
    try:
        yield
    finally:
        _in_stoppable_work = False


def _on_stop_signal(signum, frame) -> None:
    global _stop_requested
    _stop_requested = True
    if _in_stoppable_work:
        raise WorkStopped


_forking_pid = 0


def _before_fork() -> None:
    global _forking_pid
    _forking_pid = os.getpid()


def _after_fork_in_child() -> None:
    global _generation
    _generation += 1
    if sys.platform == "linux":  # die with the parent, however it ends
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != _forking_pid:  # it died before the line above took effect
            os._exit(1)
    if _generation == 1:  # the sentinel leads a group of its own: stop signals for the group miss it
        os.setpgid(0, 0)
    signal.signal(STOP_SIGNAL, _on_stop_signal)
    gc.freeze()  # what the child inherited (core/collector.py): a full collection paused payments 0.4 s


def run_cluster(*, grace_seconds: float) -> None:
    """Run a django-q2 cluster until SIGTERM or SIGINT, then stop it as described above."""
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
    keep_database_connections()
    quiet_garbage_collection()
    cluster = Cluster()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # replaces the cluster's own handlers
        signal.signal(sig, lambda *_: stop.set())
    cluster.start()
    sentinel = cluster.sentinel
    while not stop.wait(0.5):
        if not sentinel.is_alive():
            log.error("the cluster's sentinel ended on its own (exit code %s)", sentinel.exitcode)
            sys.exit(1)
    log.info("stopping: running tasks have %g s to finish, then stoppable work is interrupted", grace_seconds)
    timer = threading.Timer(grace_seconds, _interrupt, args=[sentinel.pid])
    timer.daemon = True
    timer.start()
    # django-q2's stop waits without limit; if the cluster's processes were killed under it (a stop signal
    # sent to every process, as systemd's default KillMode does) it can wait on a lock a dead process held.
    stopper = threading.Thread(target=cluster.stop, daemon=True)
    stopper.start()
    stopper.join(grace_seconds + STOP_LIMIT_SECONDS)
    timer.cancel()
    if stopper.is_alive():
        log.error("the cluster did not stop within %g s; killing it", grace_seconds + STOP_LIMIT_SECONDS)
        with suppress(ProcessLookupError):
            os.killpg(sentinel.pid, signal.SIGKILL)
        sys.exit(1)
    log.info("worker stopped")


def keep_database_connections() -> None:
    """Let the cluster's processes reuse their connection across tasks. django-q2 calls Django's
    close_old_connections before each task and, with the ORM broker, before each poll: with
    CONN_MAX_AGE=0 each of those opened a new connection (a new PostgreSQL backend) on the way to every
    payment. With an age and health checks, a connection broken meanwhile (a database restart) is
    noticed by one `SELECT 1` before the task's first query and replaced. django-q2 closes connections
    before it forks, so no connection is ever shared between processes."""
    for database in settings.DATABASES.values():  # the dicts Django's connections are made from
        database["CONN_MAX_AGE"] = DB_CONNECTION_MAX_AGE_SECONDS
        database["CONN_HEALTH_CHECKS"] = True


class RedisBroker(DjangoQRedisBroker):
    """django-q2's Redis broker (a Redis list; a worker's pusher blocks on it with BLPOP, so a task is
    taken the moment it is queued), made to live with Redis going away:

    - enqueueing (from web processes and the timer loop) uses short socket timeouts, so a Redis that
      hangs costs a request at most that; `enqueue` below then skips Redis until its breaker retries;
    - the pusher's blocking pop has a timeout of its own; when Redis is down it logs one WARNING (the
      breaker's) and tries again every RETRY_SECONDS, instead of django-q2's traceback, 10 s sleep and
      the pusher process's end.

    A task is removed from Redis when a pusher takes it: if its worker dies, or Redis loses it, the
    timer loop enqueues the payment again from payment_due_at (see orders/services/)."""

    BLOCK_SECONDS = 1

    def __init__(self, list_key: str | None = None) -> None:
        super().__init__(list_key=list_key)
        self._blocking: redis.Redis | None = None

    @staticmethod
    def get_connection(list_key: str | None = None) -> redis.Redis:
        return _enqueue_client(Conf.REDIS)

    def dequeue(self) -> list[tuple[None, bytes | str]] | None:
        breaker = redis_state.breaker("task queue")
        if not breaker.allows():
            time.sleep(redis_state.RETRY_SECONDS)
            return None
        try:
            if self._blocking is None:  # its own connection: the socket timeout must outlast the pop's
                self._blocking = redis.Redis.from_url(
                    Conf.REDIS,
                    socket_timeout=self.BLOCK_SECONDS + redis_state.SOCKET_TIMEOUT_SECONDS,
                    socket_connect_timeout=redis_state.SOCKET_TIMEOUT_SECONDS,
                )
            task = self._blocking.blpop([self.list_key], self.BLOCK_SECONDS)
        except Exception as exc:
            if not redis_state.is_redis_error(exc):
                raise
            breaker.failed(exc)
            return None
        breaker.succeeded()
        return [(None, task[1])] if task else None


@lru_cache(maxsize=4)
def _enqueue_client(url: str) -> redis.Redis:
    """One client (and connection pool) per process: django-q2 makes a broker for every task it queues."""
    timeout = redis_state.SOCKET_TIMEOUT_SECONDS
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def _interrupt(group: int) -> None:
    log.info("grace period over: interrupting stoppable work")
    with suppress(ProcessLookupError):
        os.killpg(group, STOP_SIGNAL)


def enqueue(func: str, *args: Any, **options: Any) -> bool:
    """Hand a task to the queue; False if the queue is away (with Q_BROKER=redis: Redis is down).

    Never raises: callers enqueue after their change committed, and each due task is found again by the
    timer loop from the database (payment_due_at), so a failed enqueue only delays the work.
    """
    breaker = redis_state.breaker("task queue")
    if not breaker.allows():  # Redis failed moments ago: do not make every request wait on it
        return False
    try:
        async_task(func, *args, **options)
    except Exception as exc:
        if not redis_state.is_redis_error(exc):
            log.exception("could not enqueue %s; the timer loop will enqueue it again when due", func)
            return False
        breaker.failed(exc)
        return False
    breaker.succeeded()
    return True
