"""Where a token may be sent.

With `mac_only_encrypted`, anyone who can open a pull request can change every field of the
config but the keys, including `zendesk.subdomain` and `zendesk.url`. So the destination is
checked against things the file cannot change, before any key is decrypted:

- HTTPS to `<subdomain>.zendesk.com` (the file names its own account);
- HTTPS to a host allowed from outside the file (`--allow-host`, `ZDOPS_ALLOW_HOSTS`);
- HTTP or HTTPS to a loopback address (the local sandbox);
- and when `ZDOPS_SUBDOMAIN` is set (CI pins the account there), nothing but that account.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from runner.errors import TrustError

if TYPE_CHECKING:
    from runner.config.models import Zendesk

ZENDESK_SUFFIX = ".zendesk.com"
_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def check_destination(
    zendesk: Zendesk, *, allow_hosts: Sequence[str], env: Mapping[str, str]
) -> str:
    """The base URL a token may be sent to for this config, or TrustError saying what to do."""
    pinned = pinned_subdomain(env)
    if zendesk.subdomain is not None:
        subdomain = zendesk.subdomain
        if not _SUBDOMAIN_RE.match(subdomain):
            raise TrustError(f"zendesk.subdomain {subdomain!r} is not a Zendesk subdomain.")
        if pinned is not None and subdomain != pinned:
            raise _pin_error(f"zendesk.subdomain is {subdomain!r}", pinned)
        return f"https://{subdomain}{ZENDESK_SUFFIX}"

    url = zendesk.url or ""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    scheme = parts.scheme.lower()
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise TrustError(f"zendesk.url {url!r} has an invalid port.") from None
    if parts.username is not None or parts.password is not None:
        raise TrustError(
            f"zendesk.url {url!r} carries a user name or password.",
            hint="Remove them from the URL: credentials belong in tokens, encrypted.",
        )
    if scheme not in ("http", "https") or not host:
        raise TrustError(f"zendesk.url {url!r} is not an http(s) URL with a host.")
    base_url = url.rstrip("/")

    if pinned is not None:
        if scheme == "https" and host == f"{pinned}{ZENDESK_SUFFIX}" and _default_port(parts):
            return base_url
        raise _pin_error(f"zendesk.url is {url!r}", pinned)

    if is_loopback(host):
        return base_url
    if scheme == "https" and _is_zendesk_host(host) and _default_port(parts):
        return base_url
    allowed = allowed_hosts(allow_hosts, env)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if host in allowed or netloc in allowed:
        if scheme != "https":
            raise TrustError(
                f"zendesk.url {url!r} is plain HTTP: a token would cross the network "
                "unencrypted.",
                hint="Use https://; plain http is allowed only to a loopback address "
                "such as 127.0.0.1.",
            )
        return base_url
    if is_loopback_name(host):
        raise TrustError(
            f"zendesk.url {url!r} names {host}, which is not a loopback address itself, so no "
            "token will be sent there.",
            hint=f"Write the address instead: {loopback_url(url)}.",
        )
    raise TrustError(
        f"zendesk.url {url!r} is not a Zendesk account, an allowed host or a loopback "
        "address, so no token will be sent there.",
        hint=f"If you trust {host}, allow it from outside the file: `--allow-host {host}` or "
        f"ZDOPS_ALLOW_HOSTS={host}.",
    )


def pinned_subdomain(env: Mapping[str, str]) -> str | None:
    """The account CI pins with ZDOPS_SUBDOMAIN (`acme` or `acme.zendesk.com`), if any."""
    raw = env.get("ZDOPS_SUBDOMAIN", "").strip().lower()
    if not raw:
        return None
    if raw.endswith(ZENDESK_SUFFIX):
        raw = raw[: -len(ZENDESK_SUFFIX)]
    if not _SUBDOMAIN_RE.match(raw):
        raise TrustError(
            f"ZDOPS_SUBDOMAIN={env['ZDOPS_SUBDOMAIN']!r} is not a Zendesk subdomain.",
            hint="Set it to the account's subdomain, e.g. ZDOPS_SUBDOMAIN=acme for "
            "https://acme.zendesk.com.",
        )
    return raw


def allowed_hosts(allow_hosts: Sequence[str], env: Mapping[str, str]) -> set[str]:
    """Hosts (`host` or `host:port`) allowed by flags and ZDOPS_ALLOW_HOSTS, lower-cased."""
    raw = [*allow_hosts, *env.get("ZDOPS_ALLOW_HOSTS", "").split(",")]
    hosts: set[str] = set()
    for item in raw:
        item = item.strip().lower()
        if not item:
            continue
        if "://" in item:
            parts = urlsplit(item)
            item = parts.netloc.rsplit("@", 1)[-1]
        hosts.add(item.rstrip("/"))
    return hosts


def _pin_error(found: str, pinned: str) -> TrustError:
    return TrustError(
        f"{found}, but ZDOPS_SUBDOMAIN pins this run to {pinned}{ZENDESK_SUFFIX}; no key was "
        "decrypted and nothing was sent.",
        hint="If this change (for example in a pull request) is meant, the account's owner "
        "must change ZDOPS_SUBDOMAIN in the CI settings; the file alone cannot.",
    )


def _is_zendesk_host(host: str) -> bool:
    subdomain = host.removesuffix(ZENDESK_SUFFIX)
    return subdomain != host and bool(_SUBDOMAIN_RE.match(subdomain))


def _default_port(parts: SplitResult) -> bool:
    return parts.port is None or parts.port == 443


def loopback_url(url: str) -> str:
    """`url` with its host name replaced by the loopback address 127.0.0.1 (port kept)."""
    parts = urlsplit(url)
    netloc = "127.0.0.1" if parts.port is None else f"127.0.0.1:{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def is_loopback_name(host: str) -> bool:
    """localhost and *.localhost: names that usually mean this machine, but a hosts file or DNS
    decide where they go, so only an address counts as loopback."""
    return host == "localhost" or host.endswith(".localhost")


def is_loopback(host: str) -> bool:
    """True for a loopback address (127.0.0.0/8, ::1); a name such as localhost is not one."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
