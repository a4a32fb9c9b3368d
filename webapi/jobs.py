"""Durable jobs: long work (imports, embedding, training) as rows of the store's ``jobs``
table, run by workers of the task queue (``webapi/tasks.py``).

A job is ``queued`` until a worker claims it (``running``, the worker's ``host:pid`` recorded),
then ``done``, ``failed`` (with its reason) or ``cancelled``. While it runs it reports its
``phase``, ``done``/``total`` and records/s; each report is its heartbeat and the moment it
sees a cancel request. A job whose worker died (killed, machine lost) is found by
``recover_jobs`` (when a server or worker starts, then once a minute) and queued again, up to
``MAX_ATTEMPTS`` times, then failed with the reason. Each phase leaves the store consistent: an
import stores all its files in one transaction, which also moves the job to its embedding
phase; vectors are committed batch by batch and a resumed job embeds only what is missing.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.errors import ConflictError, NotFoundError, ScreenwiseError

if TYPE_CHECKING:
    from .services import Screenwise

log = logging.getLogger(__name__)

JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE = ("queued", "running")
JOB_KINDS = ("import", "embed", "train", "candidates")
# A job is tried this many times when its worker dies under it, then failed.
MAX_ATTEMPTS = 3
# A running job whose worker is on another machine and has not reported for this long is
# taken as orphaned (a worker on this machine is checked by its process id).
STALE_SECONDS = 600
# Progress is written at most this often (besides phase changes).
REPORT_EVERY_S = 0.5
UPLOADS = "uploads"
SCRATCH = "tmp"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobCancelled(Exception):
    """Raised inside a job when its cancel request is seen."""


class Progress:
    """A running job's reports: phase, done/total and records/s; checks for a cancel request."""

    def __init__(self, service: Screenwise, job_id: str) -> None:
        self.store = service.store
        self.job_id = job_id
        self.phase_name = ""
        self._started = time.monotonic()
        self._reported = 0.0

    def phase(self, name: str, total: int = 0) -> None:
        self.phase_name = name
        self._started = time.monotonic()
        self._reported = 0.0
        self.store.update_job(self.job_id, phase=name, done=0, total=total, rate=None)
        self.check()

    def update(self, done: int, *, force: bool = False) -> None:
        stamp = time.monotonic()
        if not force and stamp - self._reported < REPORT_EVERY_S:
            return
        self._reported = stamp
        elapsed = stamp - self._started
        rate = round(done / elapsed, 1) if elapsed > 0 and done else None
        self.store.update_job(self.job_id, done=done, rate=rate)
        self.check()

    def check(self) -> None:
        if self.store.job(self.job_id)["cancel"]:
            raise JobCancelled


class JobService:
    """Submitting, running, following, cancelling and recovering jobs (part of ``Screenwise``).

    ``tasks`` is the process's ``TaskQueue``; without one, jobs run in the submitting thread.
    """

    tasks: Any = None

    # -- submitting and following --------------------------------------------------------

    def _create_job(
        self: Screenwise,
        kind: str,
        *,
        project_id: int | None,
        params: dict[str, Any],
        actor: str = "",
        job_id: str | None = None,
    ) -> dict[str, Any]:
        return self.store.create_job(
            job_id or new_job_id(), kind, project_id=project_id, params=params, requested_by=actor
        )

    def _submit(self: Screenwise, job: dict[str, Any]) -> dict[str, Any]:
        """Send a created job to the queue (or run it here when there is none)."""
        if self.tasks is None:
            self.run_job(job["job_id"])
        else:
            self.tasks.enqueue(job["job_id"])
        return self.job(job["job_id"])

    def job(self: Screenwise, job_id: str) -> dict[str, Any]:
        """A job as the API shows it."""
        return public_job(self.store.job(job_id))

    def jobs_of(self: Screenwise, project_id: int, *, active: bool = False) -> list[dict[str, Any]]:
        return [
            public_job(j)
            for j in self.store.jobs(project_id, states=ACTIVE if active else (), limit=50)
        ]

    def cancel_job(self: Screenwise, job_id: str) -> dict[str, Any]:
        """Cancel a queued job at once, a running one at its next progress report."""
        job = self.store.job(job_id)
        if job["state"] not in ACTIVE:
            raise ConflictError(f"job {job_id} is already {job['state']}", job=job_id)
        self.store.request_cancel(job_id)
        job = self.store.job(job_id)
        if job["state"] == "cancelled":
            self._clean_job_files(job)
        return public_job(job)

    # -- running ---------------------------------------------------------------------------

    def run_job(self: Screenwise, job_id: str, *, raise_errors: bool = False) -> None:
        """Claim and run one job (the queue's task). A job that is not queued is left alone.

        A failure is recorded in the job; ``raise_errors`` (a job run in the caller's thread)
        raises it too, after cleaning up."""
        job = self.store.claim_job(job_id, worker_name())
        if job is None:
            return
        progress = Progress(self, job_id)
        failure: BaseException | None = None
        handler = {
            "import": self._run_import,
            "embed": self._run_embed,
            "train": self._run_train,
            "candidates": self._run_candidates,
        }.get(job["kind"])
        try:
            if handler is None:
                raise ScreenwiseError(f"this screenwise cannot run {job['kind']} jobs")
            result = handler(job, progress)
        except JobCancelled:
            self.store.update_job(job_id, state="cancelled", phase="cancelled")
            log.info("job %s cancelled in phase %s", job_id, progress.phase_name)
        except ScreenwiseError as error:
            self.store.update_job(job_id, state="failed", error=str(error), phase="failed")
            log.info("job %s failed: %s", job_id, error)
            failure = error
        except Exception as error:
            log.exception("job %s failed", job_id)
            message = f"{type(error).__name__}: {error}"
            self.store.update_job(job_id, state="failed", error=message, phase="failed")
            failure = error
        else:
            fields: dict[str, Any] = {"state": "done", "phase": "done"}
            if result is not None:
                fields["result"] = result
            self.store.update_job(job_id, **fields)
            project_id = self.store.job(job_id)["project_id"]
            if (
                job["kind"] in ("import", "embed")
                and project_id is not None
                and self.ranking_refit == "background"
                and self.serving
            ):
                # In a server, the new records' ranking starts now, not with the first reader.
                self._refit_later(project_id)
        self._clean_job_files(self.store.job(job_id))
        if failure is not None and raise_errors:
            raise failure

    def _run_embed(self: Screenwise, job: dict[str, Any], progress: Progress) -> dict[str, Any]:
        report = self._embed_and_index(job["project_id"], progress)
        return {"embedded": report.embedded, "without_text": report.without_text}

    def _run_train(self: Screenwise, job: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """What ``RankingService.train``'s work does: fit, save, publish, audit."""
        progress.phase("train")
        pid, actor = job["project_id"], job["requested_by"]
        ranking = self._fit(pid)
        self.models.save(self._model_folder(pid), ranking.fitted)
        self._publish(pid, ranking)
        self.store.log(pid, actor, "train", mode=ranking.mode, **ranking.fitted.meta)
        return ranking.fitted.meta | {"mode": ranking.mode}

    # -- recovery and cleaning -------------------------------------------------------------

    def recover_jobs(self: Screenwise, *, resend: bool = False) -> list[str]:
        """Requeue (or fail, after ``MAX_ATTEMPTS``) the running jobs whose worker died.

        ``resend`` (a server or worker starting): also send every queued job to the queue again
        (a message may have been lost with a memory or flushed queue; a duplicate is harmless).
        Returns the ids of the jobs sent.
        """
        sent = []
        for job in self.store.jobs(states=("running",), limit=10_000):
            if not _orphaned(job):
                continue
            phase = job["phase"] or "start"
            if job["attempts"] >= MAX_ATTEMPTS:
                reason = (
                    f"the worker running this job ({job['worker']}) stopped during phase "
                    f"{phase!r} on each of {job['attempts']} attempts; not retried"
                )
                if self.store.finish_job(job["job_id"], "failed", error=reason):
                    self._clean_job_files(self.store.job(job["job_id"]))
                log.warning("job %s failed: %s", job["job_id"], reason)
                continue
            note = (
                f"worker {job['worker']} stopped during phase {phase!r}; "
                f"resumed (attempt {job['attempts'] + 1} of {MAX_ATTEMPTS})"
            )
            self.store.update_job(job["job_id"], state="queued", worker=None, error=note)
            log.warning("job %s: %s", job["job_id"], note)
            sent.append(job["job_id"])
        if resend:
            sent.extend(j["job_id"] for j in self.store.jobs(states=("queued",), limit=10_000))
        for job_id in dict.fromkeys(sent):
            if self.tasks is not None:
                self.tasks.enqueue(job_id)
        return sent

    def resume_embedding(self: Screenwise, *, actor: str = "") -> list[str]:
        """An embedding job for every project with records still to embed (or to type: a store
        from before study types) and no job of its own queued or running. Returns their
        ids."""
        started = []
        busy = {j["project_id"] for j in self.store.jobs(states=ACTIVE, limit=10_000)}
        for project in self.store.projects():
            pid = project.project_id
            if pid in busy or not (
                self.store.pending_vectors(pid, self.embedding_model_id)
                or self.store.study_type_counts(pid).get(None)
            ):
                continue
            job = self._create_job("embed", project_id=pid, params={}, actor=actor or "server")
            self._submit(job)
            started.append(job["job_id"])
        return started

    def clean_scratch(self: Screenwise) -> int:
        """Remove the scratch folder and the stored uploads of jobs that are over (or unknown):
        what a killed process left. Returns how many folders went."""
        removed = 0
        scratch = self.data_dir / SCRATCH
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
            removed += 1
        uploads = self.data_dir / UPLOADS
        if uploads.exists():
            for folder in uploads.iterdir():
                try:
                    state = self.store.job(folder.name)["state"]
                except NotFoundError:
                    state = None
                if state not in ACTIVE:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
        return removed

    def _upload_folder(self: Screenwise, job_id: str) -> Path:
        return self.data_dir / UPLOADS / job_id

    def _clean_job_files(self: Screenwise, job: dict[str, Any]) -> None:
        if job["state"] not in ACTIVE:
            shutil.rmtree(self._upload_folder(job["job_id"]), ignore_errors=True)


class TrainingJobs:
    """Retraining as durable jobs, behind the interface ``RankingService.train`` uses: at most
    one active per project; in the foreground the work runs in the caller's thread, in the
    background it goes to the queue (``JobService._run_train``)."""

    def __init__(self, service: Screenwise) -> None:
        self.service = service

    def start(
        self,
        project_id: int,
        work: Callable[[], dict[str, Any]],
        *,
        background: bool,
        requested_by: str = "",
    ) -> TrainingJob:
        store = self.service.store
        running = self.running(project_id)
        if running is not None:
            raise ConflictError(
                f"retraining job {running.job_id} is still running for this project; "
                f"follow it at its status resource",
                job=running.job_id,
            )
        job = self.service._create_job(
            "train", project_id=project_id, params={"background": background}, actor=requested_by
        )
        if background:
            self.service._submit(job)
            return TrainingJob(store.job(job["job_id"]))
        store.claim_job(job["job_id"], worker_name())
        try:
            model = work()
        except Exception as error:
            log.exception("retraining job %s failed", job["job_id"])
            store.update_job(
                job["job_id"], state="failed", error=f"{type(error).__name__}: {error}"
            )
            raise RuntimeError(f"retraining failed: {error}") from error
        store.update_job(job["job_id"], state="done", phase="done", result=model)
        return TrainingJob(store.job(job["job_id"]))

    def get(self, project_id: int, job_id: str) -> TrainingJob:
        try:
            job = self.service.store.job(job_id)
        except NotFoundError:
            job = None
        if job is None or job["project_id"] != project_id or job["kind"] != "train":
            raise NotFoundError(f"no training job {job_id!r} in project {project_id!r}")
        return TrainingJob(job)

    def running(self, project_id: int) -> TrainingJob | None:
        for job in self.service.store.jobs(project_id, states=ACTIVE):
            if job["kind"] == "train":
                return TrainingJob(job)
        return None

    def forget(self, project_id: int) -> None:
        """Jobs are history: a deleted project's stay in the store."""


class TrainingJob:
    """A retraining job as ``/training/<job>`` shows it."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.job_id = job["job_id"]

    @property
    def status(self) -> str:
        state = self.job["state"]
        return {"queued": "running", "cancelled": "failed"}.get(state, state)

    def to_dict(self) -> dict[str, Any]:
        job = self.job
        return {
            "job_id": job["job_id"],
            "project_id": job["project_id"],
            "background": bool(job["params"].get("background")),
            "requested_by": job["requested_by"],
            "status": self.status,
            "started_at": job["created_at"],
            "finished_at": job["finished_at"],
            "error": job["error"],
            "model": job["result"],
        }


def new_job_id() -> str:
    return uuid.uuid4().hex[:16]


def public_job(job: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of a job: no file paths, worker or internal flags."""
    params = job["params"]
    return {
        "job_id": job["job_id"],
        "project_id": job["project_id"],
        "kind": job["kind"],
        "state": job["state"],
        "phase": job["phase"],
        "done": job["done"],
        "total": job["total"],
        "records_per_second": job["rate"],
        "error": job["error"],
        "files": [f["name"] for f in params.get("files", [])],
        "result": job["result"],
        "requested_by": job["requested_by"],
        "attempts": job["attempts"],
        "cancel_requested": job["cancel"],
        "created_at": job["created_at"],
        "updated_at": job["updated_at"],
        "finished_at": job["finished_at"],
    }


def _orphaned(job: dict[str, Any]) -> bool:
    """Whether a running job's worker is gone: a dead process on this machine, or no report
    for ``STALE_SECONDS`` from another."""
    host, _, pid = (job["worker"] or ":").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return not _alive(int(pid))
    updated = datetime.fromisoformat(job["updated_at"])
    return (datetime.now(UTC) - updated).total_seconds() > STALE_SECONDS


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) is dead for our purpose.
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" not in status
