"""Retraining jobs: at most one per project, run in the caller's thread or in a background one.

Jobs live in memory: a restarted server forgets them (the models they saved stay on disk).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from index.errors import ConflictError, NotFoundError

log = logging.getLogger(__name__)

JobStatus = Literal["running", "done", "failed"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class TrainingJob:
    job_id: str
    project_id: int
    background: bool
    requested_by: str
    status: JobStatus = "running"
    started_at: str = field(default_factory=_now)
    finished_at: str | None = None
    error: str | None = None
    model: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TrainingJobs:
    """The jobs of one service; ``start`` refuses a second job for a project while one runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}
        self._running: dict[int, TrainingJob] = {}

    def start(
        self,
        project_id: int,
        work: Callable[[], dict[str, Any]],
        *,
        background: bool,
        requested_by: str = "",
    ) -> TrainingJob:
        """Run ``work`` (which returns the model's description) as this project's job.

        In the foreground the finished job is returned and a failure is raised; in the
        background the running job is returned at once. ``ConflictError`` names the job
        already running.
        """
        with self._lock:
            running = self._running.get(project_id)
            if running is not None:
                raise ConflictError(
                    f"retraining job {running.job_id} is still running for this project; "
                    f"follow it at its status resource",
                    job=running.job_id,
                )
            job = TrainingJob(uuid.uuid4().hex[:12], project_id, background, requested_by)
            self._jobs[job.job_id] = job
            self._running[project_id] = job
        if background:
            threading.Thread(
                target=self._run, args=(job, work), name=f"train-{job.job_id}", daemon=True
            ).start()
            return job
        self._run(job, work)
        if job.status == "failed":
            raise RuntimeError(f"retraining failed: {job.error}")
        return job

    def _run(self, job: TrainingJob, work: Callable[[], dict[str, Any]]) -> None:
        try:
            job.model = work()
            job.status = "done"
        except Exception as e:
            log.exception("retraining job %s failed", job.job_id)
            job.error = f"{type(e).__name__}: {e}"
            job.status = "failed"
        finally:
            job.finished_at = _now()
            with self._lock:
                self._running.pop(job.project_id, None)

    def get(self, project_id: int, job_id: str) -> TrainingJob:
        job = self._jobs.get(job_id)
        if job is None or job.project_id != project_id:
            raise NotFoundError(f"no training job {job_id!r} in project {project_id!r}")
        return job

    def running(self, project_id: int) -> TrainingJob | None:
        with self._lock:
            return self._running.get(project_id)

    def forget(self, project_id: int) -> None:
        """Drop a deleted project's finished jobs."""
        with self._lock:
            for job_id in [j for j, job in self._jobs.items() if job.project_id == project_id]:
                del self._jobs[job_id]
