"""The task queue: huey (imported when first used) carries job ids from the API to workers;
the store's ``jobs`` table holds each job's state (``webapi/jobs.py`` runs them).

Storage, by ``queue_url``:

- none (the default): ``SqliteHuey`` in ``HOME/data/queue.db``. Nothing to install or start:
  ``screenwise serve`` runs a consumer thread in its own process, and ``screenwise worker``
  processes on the same machine share the file.
- ``redis://host:port/db``: ``RedisHuey``, for workers on several machines sharing one queue
  (they must share the home folder's store too, e.g. a network file system).
- ``memory://``: ``MemoryHuey`` (tests; only one process sees it).

``immediate=True`` (tests) runs each job in the thread that submits it.

A message is only a job id, and running a job first claims it in the store (queued ->
running), so a message delivered twice, or re-sent when a server restarts, does no harm.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huey import Huey

    from .services import Screenwise

log = logging.getLogger(__name__)

QUEUE_FILE = "queue.db"


def make_huey(data_dir: Path, url: str | None = None, *, immediate: bool = False) -> Huey:
    """The huey instance for a home's ``data`` folder, or for ``url`` (redis://, memory://)."""
    from huey import MemoryHuey, RedisHuey, SqliteHuey

    options: dict[str, Any] = {"results": False, "immediate": immediate}
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("screenwise", url=url, **options)
    if url and url.startswith("memory:"):
        return MemoryHuey("screenwise", **options)
    if url:
        raise ValueError(f"queue URL must be redis://..., or memory://, not {url!r}")
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("screenwise", filename=str(data_dir / QUEUE_FILE), **options)


class TaskQueue:
    """One process's side of the queue: ``enqueue(job_id)`` sends, consumers run
    ``service.run_job``. The periodic ``recover`` task requeues the jobs of workers that died
    (``Screenwise.recover_jobs``)."""

    def __init__(self, service: Screenwise, url: str | None = None, *, immediate: bool = False):
        from huey import crontab

        self.service = service
        self.url = url
        self.huey = make_huey(service.data_dir, url, immediate=immediate)
        self._run = self.huey.task(name="run_job")(self._run_job)
        self.huey.periodic_task(crontab(minute="*"), name="recover_jobs")(self._recover)

    @property
    def kind(self) -> str:
        return type(self.huey).__name__

    def enqueue(self, job_id: str) -> None:
        self._run(job_id)

    def _run_job(self, job_id: str) -> None:
        self.service.run_job(job_id)

    def _recover(self) -> None:
        self.service.recover_jobs()

    def consumer(self, workers: int = 1, *, embedded: bool = True) -> Any:
        """A huey consumer of ``workers`` threads; ``embedded``: one that runs beside a web
        server (started with ``start()``, no signal handlers, stopped with ``stop()``)."""
        from huey.consumer import Consumer

        class EmbeddedConsumer(Consumer):
            """Leaves the program's signal handlers alone."""

            def _set_signal_handlers(self) -> None:
                pass

        cls = EmbeddedConsumer if embedded else Consumer
        # Polls an empty queue at most once a second: a new job starts within a second, and
        # a stopping consumer's threads notice within one too.
        return cls(self.huey, workers=workers, worker_type="thread", periodic=True, max_delay=1.0)
