"""Background jobs (tickets/update_many): queued -> working -> completed | failed.

One worker thread runs jobs in submission order, item by item, so a polling client sees the
states Zendesk shows. A job whose every item failed ends `failed`; otherwise `completed`, with
per-item results (`success: false` items carry `error` and `details`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from runner.sandbox.faults import Dice
from runner.sandbox.models import User
from runner.sandbox.replies import ApiError
from runner.sandbox.store import Store
from runner.sandbox.updates import apply_update

MAX_IN_FLIGHT = 30
KEEP_JOBS = 1000  # finished jobs kept for polling; older ones 404
BASE_JOB_SECONDS = 0.02
INFLIGHT_HEADER = "zendesk-ratelimit-inflight-jobs"


@dataclass
class WorkItem:
    ticket_id: int
    changes: dict[str, Any]
    # The ticket's updated_at when the job was queued: update_many is always a safe update,
    # against the client's updated_stamp if given, else against the ticket as it was then.
    stamp: int | None = None


@dataclass
class Job:
    id: str
    total: int
    items: list[WorkItem]
    actor: User
    client: str
    ip: str
    status: str = "queued"
    progress: int | None = None
    message: str | None = None
    results: list[dict[str, Any]] | None = None
    job_type: str = "bulk_update"
    number: int = 0  # order of submission, for the list's newest-first order

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "total": self.total,
            "progress": self.progress,
            "status": self.status,
            "message": self.message,
            "results": None if self.results is None else [dict(r) for r in self.results],
            "job_type": self.job_type,
        }


def too_many_jobs(current: list[str]) -> ApiError:
    return ApiError(
        429,
        {
            "error": "TooManyJobs",
            "description": "Too many update_many jobs are currently queued or running. "
            "Try again later.",
            "current_job_ids": current,
        },
        [
            (INFLIGHT_HEADER, f"total={MAX_IN_FLIGHT}; remaining=0; resets=60"),
            ("Retry-After", "60"),
        ],
    )


def _failure(ticket_id: int, error: ApiError) -> dict[str, Any]:
    payload = error.payload if isinstance(error.payload, dict) else {}
    code = payload.get("error")
    if isinstance(code, dict):  # {"error": {"title", "message"}} (403)
        details = str(code.get("message", ""))
        code = "PermissionDenied"
    else:
        details = str(payload.get("description", ""))
        for entries in (payload.get("details") or {}).values():
            details = "; ".join(str(e.get("description", "")) for e in entries) or details
    return {
        "id": ticket_id,
        "action": "update",
        "success": False,
        "error": str(code or "UpdateFailed"),
        "details": details,
    }


class Jobs:
    def __init__(self, store: Store, dice: Dice, seed: int) -> None:
        self._store = store
        self._dice = dice
        self._seed = seed
        self._stopped = threading.Event()  # also the worker's sleep, so stop() is prompt
        self._lock = threading.Condition()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: deque[Job] = deque()
        self._count = 0
        self._thread: threading.Thread | None = None
        self._stopping = False

    def in_flight(self) -> list[str]:
        with self._lock:
            return [j.id for j in self._jobs.values() if j.status in ("queued", "working")]

    def submit(
        self,
        items: list[WorkItem],
        actor: User,
        *,
        client: str,
        ip: str,
    ) -> tuple[dict[str, Any], int]:
        """Queue a job; return its dict and the in-flight slots left. 429 past the limit."""
        with self._lock:
            current = [j.id for j in self._jobs.values() if j.status in ("queued", "working")]
            if len(current) >= MAX_IN_FLIGHT:
                raise too_many_jobs(current)
            self._count += 1
            digest = hashlib.md5(f"{self._seed}:job:{self._count}".encode()).hexdigest()
            job = Job(f"V3-{digest}", len(items), items, actor, client, ip, number=self._count)
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP_JOBS:
                oldest = next(iter(self._jobs.values()))
                if oldest.status in ("queued", "working"):
                    break
                self._jobs.popitem(last=False)
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sandbox-jobs", daemon=True)
                self._thread.start()
            self._lock.notify()
            return job.as_dict(), MAX_IN_FLIGHT - len(current) - 1

    def recent(self) -> list[tuple[int, dict[str, Any]]]:
        """Every job still kept, newest first, each with its submission number."""
        with self._lock:
            return [(job.number, job.as_dict()) for job in reversed(self._jobs.values())]

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job.as_dict() if job else None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no job is queued or running (for tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while any(j.status in ("queued", "working") for j in self._jobs.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.05))
        return True

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._stopped.set()
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                job = self._queue.popleft()
            self._work(job)

    def _work(self, job: Job) -> None:
        duration = BASE_JOB_SECONDS + self._dice.faults.slow_jobs_s
        pause = duration / max(job.total, 1)
        results: list[dict[str, Any]] = []
        with self._lock:
            job.status, job.progress = "working", 0
        for done, item in enumerate(job.items, start=1):
            if self._stopping:
                return
            self._stopped.wait(pause)
            results.append(self._one(job, item))
            with self._lock:
                job.progress = done
                job.message = f"Updating ticket #{item.ticket_id}"
        stamp = time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(self._store.clock()))
        with self._lock:
            failed = bool(results) and not any(r["success"] for r in results)
            job.status = "failed" if failed else "completed"
            job.message = f"{'Failed' if failed else 'Completed'} at {stamp}"
            job.progress = job.total
            job.results = results
            self._lock.notify_all()

    def _one(self, job: Job, item: WorkItem) -> dict[str, Any]:
        if self._dice.job_item_fails():
            return {
                "id": item.ticket_id,
                "action": "update",
                "success": False,
                "error": "TicketUpdateFailed",
                "details": "The ticket could not be updated (sandbox fault: jobfail)",
            }
        try:
            with self._store.lock:
                apply_update(
                    self._store,
                    item.ticket_id,
                    item.changes,
                    job.actor,
                    client=job.client,
                    ip=job.ip,
                    fallback_stamp=item.stamp,
                )
        except ApiError as error:
            return _failure(item.ticket_id, error)
        return {"id": item.ticket_id, "action": "update", "status": "Updated", "success": True}
