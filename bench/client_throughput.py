"""Client throughput against the sandbox: requests per second, 429s, and the share of retries.

    python bench/client_throughput.py            # full run (the limited case lasts ~2 minutes)
    python bench/client_throughput.py --quick    # a smaller, shorter run

Scenarios: no limit (the client's own overhead over real HTTP on 127.0.0.1); an emulated
account limit (the client should reach it, not exceed it: few or no 429s); and injected faults
(5xx and dropped connections, to show the retry share). One client, one connection pool, reads
of single tickets in a loop, as a plan's re-reads do. `requests` and `retries` are the client's
own counters; `sandbox saw` is the sandbox's request counter, which must agree with them.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from runner.sandbox import Sandbox, serve
from runner.secrets import Secret
from runner.zendesk import Credentials, ZendeskClient


@dataclass
class Row:
    scenario: str
    requests: int
    served: int  # requests the sandbox counted (dropped connections included)
    seconds: float
    rate_limited: int
    retries: int
    paced: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def retry_share(self) -> float:
        return self.retries / self.requests if self.requests else 0.0


def run(scenario: str, *, tickets: int, reads: int | None, seconds: float | None,
        rate_limit: int | None = None, faults: str | None = None) -> Row:
    sandbox = Sandbox(tickets=tickets, seed=1, rate_limit=rate_limit, faults=faults)
    sandbox.reset_stats()
    with serve(sandbox) as server:
        bot = sandbox.bot
        credentials = Credentials("oauth", bot["email"],
                                  Secret(sandbox.credentials(bot["email"], "oauth")))
        with ZendeskClient(server.url, credentials, max_wait=600) as client:
            started = time.monotonic()
            done = 0
            while True:
                elapsed = time.monotonic() - started
                if (reads is not None and done >= reads) or (seconds is not None
                                                               and elapsed >= seconds):
                    break
                client.get_ticket(done % tickets + 1)
                done += 1
            elapsed = time.monotonic() - started
            stats = client.stats
            served = int(sandbox.stats()["requests"])
            return Row(scenario, stats.requests, served, elapsed, stats.rate_limited,
                       stats.retries, stats.paced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller, shorter run")
    parser.add_argument("--limit", type=int, default=1200, help="emulated requests per minute")
    args = parser.parse_args()
    reads = 500 if args.quick else 3000
    limited_seconds = 30.0 if args.quick else 130.0
    rows = [
        run("no limit", tickets=200, reads=reads, seconds=None),
        run(f"limit {args.limit}/min", tickets=200, reads=None, seconds=limited_seconds,
            rate_limit=args.limit),
        run("faults 500:5%,drop:2%", tickets=200, reads=reads, seconds=None,
            faults="500:0.05,drop:0.02"),
    ]
    print(f"{'scenario':<24}{'requests':>9}{'sandbox saw':>12}{'seconds':>9}{'req/s':>9}"
          f"{'req/min':>9}{'429s':>6}{'retries':>9}{'retry %':>9}{'paced s':>9}")
    for row in rows:
        print(f"{row.scenario:<24}{row.requests:>9}{row.served:>12}{row.seconds:>9.1f}"
              f"{row.per_second:>9.1f}"
              f"{row.per_second * 60:>9.0f}{row.rate_limited:>6}{row.retries:>9}"
              f"{row.retry_share * 100:>8.1f}%{row.paced:>9.1f}")


if __name__ == "__main__":
    main()
