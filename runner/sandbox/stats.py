"""Request counters for tests and benchmarks: by endpoint and status, and repeated writes.

A server cannot know that a request is a client's retry, but it can count writes identical to
an earlier one (same user, method, path, query and body): the footprint a retried write leaves,
and how a test proves a client did not post a comment twice.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from typing import Any


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests = 0
            self._by_endpoint: Counter[str] = Counter()
            self._by_status: Counter[int] = Counter()
            self._by_endpoint_status: Counter[tuple[str, int]] = Counter()
            self._faults: Counter[str] = Counter()
            self._write_digests: set[bytes] = set()
            self._repeated_writes = 0
            self._writes = 0

    def record(self, endpoint: str, status: int) -> None:
        with self._lock:
            self._requests += 1
            self._by_endpoint[endpoint] += 1
            self._by_status[status] += 1
            self._by_endpoint_status[(endpoint, status)] += 1

    def fault(self, name: str) -> None:
        with self._lock:
            self._faults[name] += 1

    def write(self, user_id: int | None, method: str, path: str, query: str, body: bytes) -> None:
        digest = hashlib.blake2b(
            b"\0".join(
                [str(user_id).encode(), method.encode(), path.encode(), query.encode(), body]
            ),
            digest_size=16,
        ).digest()
        with self._lock:
            self._writes += 1
            if digest in self._write_digests:
                self._repeated_writes += 1
            else:
                self._write_digests.add(digest)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            by_endpoint: dict[str, dict[str, Any]] = {}
            for (endpoint, status), count in sorted(self._by_endpoint_status.items()):
                entry = by_endpoint.setdefault(endpoint, {"total": 0, "by_status": {}})
                entry["total"] += count
                entry["by_status"][str(status)] = count
            return {
                "requests": self._requests,
                "by_status": {str(k): v for k, v in sorted(self._by_status.items())},
                "by_endpoint": by_endpoint,
                "writes": self._writes,
                "repeated_writes": self._repeated_writes,
                "faults": dict(sorted(self._faults.items())),
            }
