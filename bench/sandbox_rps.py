"""Sandbox requests per second on loopback, faults off (target: at least 1,500 for one ticket).

    python bench/sandbox_rps.py                  # 4 client threads, 5 seconds per endpoint
    python bench/sandbox_rps.py --threads 8 --seconds 10

The client is deliberately thin (http.client, one keep-alive connection per thread) so the
figure is the sandbox's, not a client library's. Server and client share this process and the
GIL, as they do in the test suite, so the number is a floor for a separately served sandbox.
The export row is a first page of 1,000 tickets: its tickets per second are 1,000 times it.
"""

from __future__ import annotations

import argparse
import http.client
import threading
import time

from runner.sandbox import Sandbox, serve

ENDPOINTS = {
    "users/me": "/api/v2/users/me.json",
    "tickets/{id}": "/api/v2/tickets/{id}.json",
    # a full export page: 1,000 tickets built from the columns and serialised per request
    "export 1000": "/api/v2/search/export.json?query=-status%3Aclosed&filter%5Btype%5D=ticket"
    "&page%5Bsize%5D=1000",
}


def hammer(
    host: str,
    port: int,
    path: str,
    auth: str,
    stop: threading.Event,
    counts: list[int],
    errors: list[int],
    index: int,
) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    n = 0
    while not stop.is_set():
        n += 1
        connection.request("GET", path.format(id=1 + n % 1000), headers={"Authorization": auth})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            errors[index] += 1
        counts[index] += 1
    connection.close()


def run(sandbox: Sandbox, url: str, path: str, threads: int, seconds: float) -> tuple[float, int]:
    host, port = url.removeprefix("http://").split(":")
    auth = sandbox.auth_header(sandbox.bot["email"])
    stop = threading.Event()
    counts, errors = [0] * threads, [0] * threads
    workers = [
        threading.Thread(target=hammer, args=(host, int(port), path, auth, stop, counts, errors, i))
        for i in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started), sum(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--tickets", type=int, default=10_000)
    args = parser.parse_args()
    sandbox = Sandbox(tickets=args.tickets, seed=1)
    with serve(sandbox) as server:
        print(f"{'endpoint':<14} {'threads':>7} {'req/s':>8} {'non-200':>8}")
        for name, path in ENDPOINTS.items():
            rate, errors = run(sandbox, server.url, path, args.threads, args.seconds)
            print(f"{name:<14} {args.threads:>7} {rate:>8.0f} {errors:>8}")


if __name__ == "__main__":
    main()
