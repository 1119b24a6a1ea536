"""runner.trust: every way a token may, or may not, leave the machine."""

from __future__ import annotations

import pytest

from runner.config.models import Zendesk
from runner.errors import TrustError
from runner.trust import allowed_hosts, check_destination, pinned_subdomain


def sub(name: str) -> Zendesk:
    return Zendesk(subdomain=name)


def url(value: str) -> Zendesk:
    return Zendesk(url=value)


def test_subdomain_goes_to_its_zendesk_account_over_https() -> None:
    assert check_destination(sub("acme"), allow_hosts=[], env={}) == "https://acme.zendesk.com"


@pytest.mark.parametrize(
    "value",
    [
        "http://127.0.0.1:8765",
        "http://127.0.0.1:8765/",
        "http://127.5.6.7",
        "http://[::1]:9000",
        "https://127.0.0.1:8443",
    ],
)
def test_loopback_is_allowed_even_over_http(value: str) -> None:
    assert check_destination(url(value), allow_hosts=[], env={}) == value.rstrip("/")


def test_zendesk_url_over_https() -> None:
    assert (
        check_destination(url("https://acme.zendesk.com"), allow_hosts=[], env={})
        == "https://acme.zendesk.com"
    )


@pytest.mark.parametrize(
    "value",
    [
        "https://evil.example.com",
        "https://acme.zendesk.com.evil.example",
        "https://zendesk.com",
        "https://acme.zendesk.com:8443",
        "http://acme.zendesk.com",
        "http://10.0.0.5:8765",
    ],
)
def test_other_hosts_are_refused(value: str) -> None:
    with pytest.raises(TrustError, match=r"no token will be sent there|plain HTTP") as caught:
        check_destination(url(value), allow_hosts=[], env={})
    assert "--allow-host" in str(caught.value) or "https://" in str(caught.value)


def test_allow_host_flag() -> None:
    target = url("https://zendesk-proxy.internal.example")
    assert (
        check_destination(target, allow_hosts=["zendesk-proxy.internal.example"], env={})
        == "https://zendesk-proxy.internal.example"
    )


def test_allow_hosts_environment_with_port() -> None:
    env = {"ZDOPS_ALLOW_HOSTS": " other.example , proxy.example:8443 "}
    target = url("https://proxy.example:8443/base")
    assert check_destination(target, allow_hosts=[], env=env) == "https://proxy.example:8443/base"
    with pytest.raises(TrustError):
        check_destination(url("https://proxy.example:9999"), allow_hosts=[], env=env)


def test_allowed_host_still_needs_https() -> None:
    with pytest.raises(TrustError, match=r"plain HTTP.*unencrypted"):
        check_destination(url("http://proxy.example"), allow_hosts=["proxy.example"], env={})


def test_allowed_hosts_normalises_entries() -> None:
    hosts = allowed_hosts(["HTTPS://Proxy.Example/", ""], {"ZDOPS_ALLOW_HOSTS": "a.example,,"})
    assert hosts == {"proxy.example", "a.example"}


def test_url_with_credentials_is_refused() -> None:
    with pytest.raises(TrustError, match="user name or password"):
        check_destination(url("https://user:pw@acme.zendesk.com"), allow_hosts=[], env={})


# --- ZDOPS_SUBDOMAIN: CI pins the account --------------------------------------------------


def test_pinned_account_matches() -> None:
    env = {"ZDOPS_SUBDOMAIN": "acme"}
    assert check_destination(sub("acme"), allow_hosts=[], env=env) == "https://acme.zendesk.com"
    assert (
        check_destination(url("https://acme.zendesk.com/"), allow_hosts=[], env=env)
        == "https://acme.zendesk.com"
    )


def test_pull_request_changing_the_subdomain_is_refused() -> None:
    with pytest.raises(TrustError) as caught:
        check_destination(sub("attacker"), allow_hosts=[], env={"ZDOPS_SUBDOMAIN": "acme"})
    message = str(caught.value)
    assert "zendesk.subdomain is 'attacker'" in message
    assert "pins this run to acme.zendesk.com" in message
    assert "no key was decrypted" in message


@pytest.mark.parametrize(
    "value",
    ["https://attacker.zendesk.com", "http://127.0.0.1:8765", "https://evil.example.com"],
)
def test_pull_request_changing_the_url_is_refused(value: str) -> None:
    # Even a loopback URL or an allowed host: the pin names one account and nothing else.
    env = {"ZDOPS_SUBDOMAIN": "acme", "ZDOPS_ALLOW_HOSTS": "evil.example.com"}
    with pytest.raises(TrustError, match=r"pins this run to acme.zendesk.com"):
        check_destination(url(value), allow_hosts=["evil.example.com"], env=env)


def test_pin_accepts_full_host_and_rejects_garbage() -> None:
    assert pinned_subdomain({"ZDOPS_SUBDOMAIN": "Acme.zendesk.com"}) == "acme"
    assert pinned_subdomain({"ZDOPS_SUBDOMAIN": "  "}) is None
    with pytest.raises(TrustError, match="ZDOPS_SUBDOMAIN='https://x/y' is not"):
        pinned_subdomain({"ZDOPS_SUBDOMAIN": "https://x/y"})


@pytest.mark.parametrize(
    ("value", "instead"),
    [
        ("http://localhost:8765", "http://127.0.0.1:8765"),
        ("https://app.localhost/zd", "https://127.0.0.1/zd"),
    ],
)
def test_localhost_by_name_is_refused_with_the_address_to_use(value: str, instead: str) -> None:
    # The hosts file or DNS decide where a name goes; only a loopback address is sure to stay.
    with pytest.raises(TrustError) as caught:
        check_destination(url(value), allow_hosts=[], env={})
    assert "not a loopback address itself" in str(caught.value)
    assert f"Write the address instead: {instead}." in str(caught.value)
    assert "--allow-host" not in str(caught.value)
