"""`zdops sandbox` served in a subprocess and used like curl; clean stops; bad flags."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from runner.cli import main


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], str, dict[str, tuple[str, str, str]]]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            "sandbox",
            "--port",
            "0",
            "--tickets",
            "300",
            "--seed",
            "9",
            "--now",
            "2026-01-15T12:00:00Z",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        url = re.search(r"http://127\.0\.0\.1:\d+", lines[0])
        assert url, lines
        creds = {}
        for line in lines:
            parts = line.split()
            if len(parts) == 4 and parts[2] in ("oauth", "api_token"):
                creds[f"{parts[0]}/{parts[2]}"] = (parts[1], parts[2], parts[3])
        yield process, url.group(0), creds
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def get(url: str, path: str, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request(
        "GET", path, headers={"Authorization": authorization} if authorization else {}
    )
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def test_cli_serves_what_it_prints_and_stops_cleanly_on_sigterm(
    served: tuple[subprocess.Popen[str], str, dict[str, tuple[str, str, str]]],
) -> None:
    process, url, creds = served
    roles = ("admin", "bot", "agent", "light", "end-user", "suspended")
    assert set(creds) == {f"{r}/{k}" for r in roles for k in ("oauth", "api_token")}
    email, _, key = creds["bot/oauth"]
    status, headers, body = get(url, "/api/v2/users/me.json", f"Bearer {key}")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["user"]["email"] == email == "bot@example.com"
    email, _, token = creds["admin/api_token"]
    basic = "Basic " + base64.b64encode(f"{email}/token:{token}".encode()).decode()
    status, _, body = get(url, "/api/v2/tickets.json?page[size]=2", basic)
    assert status == 200 and len(json.loads(body)["tickets"]) == 2
    status, _, body = get(url, "/api/v2/tickets/1.json", None)
    assert (status, json.loads(body)) == (401, {"error": "Couldn't authenticate you"})
    # the printed light agent and end-user keys are real, and meet Zendesk's refusals
    for role, path, expected in (
        ("light", "/api/v2/tickets/1.json", 200),
        ("light", "/api/v2/incremental/tickets/cursor.json?start_time=0", 403),
        ("end-user", "/api/v2/tickets/1.json", 403),
        ("suspended", "/api/v2/tickets/1.json", 403),
    ):
        email, _, key = creds[f"{role}/oauth"]
        status, _, body = get(url, path, f"Bearer {key}")
        assert status == expected, (role, path, body)
        status, _, body = get(url, "/api/v2/users/me.json", f"Bearer {key}")
        assert json.loads(body)["user"]["email"] == email
        assert json.loads(body)["user"]["suspended"] is (role == "suspended")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_cli_exits_0_on_ctrl_c(
    served: tuple[subprocess.Popen[str], str, dict[str, tuple[str, str, str]]],
) -> None:
    process, _, _ = served
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0


def test_same_seed_and_now_serve_the_same_tickets(
    served: tuple[subprocess.Popen[str], str, dict[str, tuple[str, str, str]]],
) -> None:
    from runner.sandbox import Sandbox

    _, url, creds = served
    _, _, key = creds["admin/oauth"]
    _, _, body = get(url, "/api/v2/tickets/17.json", f"Bearer {key}")
    local = Sandbox(tickets=300, seed=9, now=1768478400.0)
    local.base_url = url
    assert json.loads(body)["ticket"] == local.ticket(17)


def test_bad_faults_spec_is_a_clear_error_without_traceback() -> None:
    result = CliRunner().invoke(main, ["sandbox", "--faults", "500:lots"])
    assert result.exit_code == 1
    assert "fault '500:lots'" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--faults", "slowjobs:inf"], "Invalid value for '--faults': fault 'slowjobs:inf'"),
        (["--faults", "latency:50+-"], "Invalid value for '--faults': fault 'latency:50+-'"),
        (["--faults", "boom:1"], "Invalid value for '--faults': unknown fault 'boom'"),
        (["--latency", "inf"], "Invalid value for '--latency': inf is not a number"),
        (["--latency", "nan"], "Invalid value for '--latency': nan is not a number"),
    ],
)
def test_bad_fault_options_fail_before_seeding(args: list[str], words: str) -> None:
    # Checked while the options are parsed: no server starts, nothing is seeded first.
    result = CliRunner().invoke(main, ["sandbox", "--port", "0", "--tickets", "5", *args])
    assert result.exit_code == 1, result.output
    assert words in result.output
    assert "Zendesk sandbox" not in result.output and "Traceback" not in result.output


def test_busy_port_is_a_clear_error() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["sandbox", "--port", str(port), "--tickets", "1"])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
