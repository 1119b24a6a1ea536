"""The Zendesk sandbox: a local emulator of Zendesk Support that tests, demo and benchmarks use.

    from runner.sandbox import Sandbox, serve
    sb = Sandbox(tickets=1000, seed=1)            # seeded account; sb.app is a WSGI callable
    with serve(sb, port=0) as server:             # threaded HTTP server on 127.0.0.1
        key = sb.credentials(sb.bot["email"])     # an OAuth token acting as the bot
        ...                                       # talk to server.url

Standard library only at run time (and runner.query for search).
"""

from runner.sandbox.emulator import Sandbox
from runner.sandbox.faults import Faults, FaultSpecError, parse_faults
from runner.sandbox.server import Server, serve

__all__ = ["FaultSpecError", "Faults", "Sandbox", "Server", "parse_faults", "serve"]
