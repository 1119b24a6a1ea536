"""One run against Zendesk, shared by `zdops plan` and `zdops apply`: from a config file to a Plan.

The order is the safety argument, so it is fixed here and nowhere else:

1. load and validate the config (no secret, no network);
2. pick the rules (`--rule`), and from them the tokens that act: the primary, and each run_as;
3. check where the tokens would go (`runner.trust`), before any key is decrypted;
4. decrypt exactly those keys, in one sops run;
5. open one client per acting token and ask Zendesk who each one is (users/me): an anonymous,
   inactive, end-user or light-agent identity, or one whose email differs from the file, stops
   the run before any ticket is read;
6. compile every rule (names resolved once, through the primary token), then read each rule's
   tickets with search export (every page; closed tickets excluded in the query) and plan.

    with open_run(Path("config.yaml"), RunOptions(rules=["vip"])) as run:
        plan = run.plan()
        run.clients["bot"]          # ZendeskClient per acting token (apply uses them)
        run.resolver                # names resolved in this run (apply re-evaluates with it)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from runner import query as search_syntax
from runner.engine.names import QueryNames, ZendeskNames
from runner.engine.plan import Identity, Plan
from runner.engine.planner import PlanContext, Ticket, build_plan
from runner.engine.progress import Progress
from runner.engine.resolve import Resolver
from runner.engine.rules import RuleLike
from runner.errors import IdentityError, ZdopsError, ZendeskAuthError

if TYPE_CHECKING:
    import httpx

    from runner.config import LoadedConfig
    from runner.config.models import Rule, Token
    from runner.secrets import Sops
    from runner.zendesk import ZendeskClient

# A run-wide ceiling on changed tickets unless --max-changes says otherwise: per-rule limits stop
# one mistaken rule, this stops several together from touching a large part of the account.
DEFAULT_MAX_CHANGES = 1000
# Search export never returns closed tickets' changes usefully (Zendesk refuses to update them),
# and reading them would cost pages on old accounts: exclude them in the query itself.
NOT_CLOSED = "-status:closed"


@dataclass(frozen=True)
class RunOptions:
    """What a command line (or a test) can say about a run."""

    rules: Sequence[str] = ()  # --rule NAME...; empty: every enabled rule
    allow_hosts: Sequence[str] = ()  # --allow-host
    limit_override: int | None = None
    max_changes: int | None = None  # None: DEFAULT_MAX_CHANGES (or the limit override, if larger)
    env: Mapping[str, str] | None = None  # ZDOPS_ALLOW_HOSTS, ZDOPS_SUBDOMAIN; default os.environ
    now: datetime | None = None  # the run clock (durations count from it); default: now, UTC
    progress: Progress = field(default_factory=Progress)
    transport: httpx.BaseTransport | None = None  # tests and benchmarks only
    sops: Sops | None = None
    client_options: Mapping[str, Any] = field(default_factory=dict)  # e.g. max_wait, sleep

    def budget(self) -> int:
        if self.max_changes is not None:
            return self.max_changes
        return max(DEFAULT_MAX_CHANGES, self.limit_override or 0)


def select_rules(loaded: LoadedConfig, names: Sequence[str]) -> list[Rule]:
    """The enabled rules to run, in file order; `names` (from --rule) must each be one."""
    config = loaded.config
    if not names:
        return [rule for rule in config.rules if rule.enabled]
    known = {rule.name: rule for rule in config.rules}
    for name in names:
        rule = known.get(name)
        if rule is None:
            listed = ", ".join(known) or "none"
            raise ZdopsError(
                f"--rule {name}: {loaded.filename} has no rule named {name!r} (rules: {listed}).",
                hint="Use a rule's `name` exactly as written in the file.",
            )
        if not rule.enabled:
            raise ZdopsError(
                f"--rule {name}: rule {name!r} in {loaded.filename} is disabled "
                "(enabled: false), so it never runs.",
                hint="Set `enabled: true` on it (or remove `enabled`) to plan it.",
            )
    wanted = set(names)
    return [rule for rule in config.rules if rule.name in wanted]


def acting_tokens(loaded: LoadedConfig, rules: Iterable[Rule]) -> list[Token]:
    """The primary token first (it names the run), then each other token a rule acts as."""
    config = loaded.config
    tokens = {config.primary_token.name: config.primary_token}
    for rule in rules:
        token = config.acting_token(rule)
        tokens.setdefault(token.name, token)
    return list(tokens.values())


def selection_query(query: str | None) -> str:
    """What search export is asked for a rule's query: closed tickets excluded."""
    text = (query or "").strip()
    return f"{text} {NOT_CLOSED}" if text else NOT_CLOSED


class Run:
    """An open run: the config, the rules, a verified client per acting token, and names."""

    def __init__(
        self,
        loaded: LoadedConfig,
        rules: list[Rule],
        base_url: str,
        clients: dict[str, ZendeskClient],
        identities: dict[str, Identity],
        me_ids: dict[str, int],
        options: RunOptions,
    ) -> None:
        self.loaded = loaded
        self.rules = rules
        self.base_url = base_url
        self.clients = clients
        self.identities = identities
        self.me_ids = me_ids
        self.options = options
        self.now = options.now or datetime.now(UTC)
        primary = loaded.config.primary_token.name
        self.primary = primary
        self.names = ZendeskNames(clients[primary])
        self.resolver = Resolver(self.names)
        self._queries: dict[str, search_syntax.Predicate] = {}
        self.reads: dict[str, int] = {}  # rule name -> tickets its search returned

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def client_for(self, rule: RuleLike) -> ZendeskClient:
        return self.clients[rule.run_as or self.primary]

    def context(self) -> PlanContext:
        return PlanContext(
            zendesk_url=self.base_url,
            identity=self.identities[self.primary],
            config_digest=self.loaded.digest,
            now=self.now,
            run_as=dict(self.identities),
        )

    def plan(self) -> Plan:
        """Read every selected ticket and plan; names are resolved before the first search."""
        config = self.loaded.config
        return build_plan(
            self.rules,
            self._tickets_for,
            self.resolver,
            self.context(),
            default_limit=config.defaults.limit,
            limit_override=self.options.limit_override,
            max_changes=self.options.budget(),
            query_matches=self.query_matches,
            source=self.loaded.filename,
        )

    def _tickets_for(self, rule: RuleLike) -> Iterator[Ticket]:
        client = self.client_for(rule)
        found = client.search_export(selection_query(rule.when.query))
        self.reads[rule.name] = 0
        for ticket in self.options.progress.track(f"rule {rule.name}: reading tickets", found):
            self.reads[rule.name] += 1
            yield ticket

    def query_matches(self, text: str, ticket: Ticket) -> bool:
        """Whether a rule's search query selects `ticket` as an earlier rule left it."""
        if not text.strip():
            return True  # a rule without a query selects every open ticket
        predicate = self._queries.get(text)
        if predicate is None:
            # compiled on first use: only a ticket changed by an earlier rule needs it, and
            # compiling looks names up through the API
            me = self._me_for_query(text)
            parsed = search_syntax.parse(text)
            predicate = search_syntax.compile(
                parsed, QueryNames(self.names), now=self.now, me=me
            )
            self._queries[text] = predicate
        return predicate(ticket)

    def _me_for_query(self, text: str) -> int | None:
        config = self.loaded.config
        for rule in self.rules:
            if rule.when.query == text:
                return self.me_ids.get(config.acting_token(rule).name)
        return self.me_ids.get(self.primary)


def open_run(path: Path, options: RunOptions | None = None) -> Run:
    """Steps 1-5 of a run (see the module docstring); the caller plans with `Run.plan()`."""
    from runner import secrets
    from runner.config import load_config
    from runner.trust import check_destination

    options = options or RunOptions()
    loaded = load_config(path)
    rules = select_rules(loaded, options.rules)
    tokens = acting_tokens(loaded, rules)
    env = os.environ if options.env is None else options.env
    base_url = check_destination(loaded.config.zendesk, allow_hosts=options.allow_hosts, env=env)
    keys = secrets.decrypt_keys(path, [t.name for t in tokens], sops=options.sops)
    clients: dict[str, ZendeskClient] = {}
    try:
        identities: dict[str, Identity] = {}
        me_ids: dict[str, int] = {}
        for token in tokens:
            client = _client(base_url, token, keys[token.name], options)
            clients[token.name] = client
            identity, me_id = verify_identity(client, token)
            identities[token.name] = identity
            me_ids[token.name] = me_id
        return Run(loaded, rules, base_url, clients, identities, me_ids, options)
    except BaseException:
        for client in clients.values():
            client.close()
        raise
    finally:
        keys.clear()


def make_plan(path: Path, options: RunOptions | None = None) -> Plan:
    """Open a run, plan it, close it."""
    with open_run(path, options) as run:
        return run.plan()


def _client(base_url: str, token: Token, key: Any, options: RunOptions) -> ZendeskClient:
    from runner.zendesk import Credentials, ZendeskClient

    extra: dict[str, Any] = dict(options.client_options)
    return ZendeskClient(
        base_url, Credentials(token.kind, token.email, key), transport=options.transport, **extra
    )


def verify_identity(client: ZendeskClient, token: Token) -> tuple[Identity, int]:
    """Who `token` acts as (users/me), or IdentityError/ZendeskAuthError naming the token."""
    from runner.tokens import identity_problems, rejected_key

    primary = ", primary" if token.primary else ""
    try:
        user = client.me()
    except ZendeskAuthError as error:
        raise ZendeskAuthError(
            f'token "{token.name}" ({token.kind}{primary}, {token.email}): '
            f"{rejected_key(token)} ({error.message}); nothing was read.",
            status=error.status,
            method=error.method,
            endpoint=error.endpoint,
            code=error.code,
            hint=f"Replace it with `zdops tokens remove {token.name}` and `zdops tokens add "
            f"{token.name}`, then check with `zdops tokens verify`.",
        ) from None
    problems = identity_problems(token, user)
    if problems:
        raise IdentityError(
            f'token "{token.name}" ({token.kind}{primary}) cannot act for this file: '
            + "; ".join(problems)
            + ". Nothing was read or changed.",
            hint="Fix the token's email or key in the file (`zdops tokens remove` and "
            "`zdops tokens add`), or the user in Zendesk; `zdops tokens verify` shows who each "
            "token acts as.",
        )
    identity = Identity(
        token=token.name,
        name=str(user.get("name") or ""),
        email=str(user.get("email") or ""),
        role=str(user.get("role") or ""),
        primary=token.primary,
    )
    return identity, int(user["id"])

