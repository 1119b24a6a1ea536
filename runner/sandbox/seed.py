"""Deterministic seeded data: the same seed and `now` give the same account, byte for byte.

Distributions aim at a plausible support desk: most tickets are solved or closed, new ones are
unassigned (Zendesk opens a ticket once it is assigned) and mostly tagged needs-triage, a share
mention refunds and order numbers, and creation times spread over the six months before `now`
(older tickets more likely closed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from runner.sandbox.columns import NO_ASSIGNEE, Columns
from runner.sandbox.models import (
    BRAND_ID,
    BRAND_ID_BASE,
    FIELD_ID_BASE,
    GROUP_ID_BASE,
    OPTION_ID_BASE,
    ORG_ID_BASE,
    PRIORITIES,
    STATUSES,
    TYPES,
    USER_ID_BASE,
    Brand,
    FieldOption,
    Group,
    Organization,
    TicketField,
    User,
)

DAY = 86_400
HISTORY_DAYS = 180
CLOSE_AFTER_DAYS = 28  # Zendesk closes solved tickets after 28 days

# Subject templates: (text, description, tags it implies, mentions an order number)
SUBJECTS: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    (
        "Refund for order {n}",
        "I would like a refund for order {n}, it never arrived.",
        ("refund",),
        True,
    ),
    (
        "Request refund for duplicate charge",
        "I was charged twice this month, please refund one.",
        ("refund", "billing"),
        False,
    ),
    (
        "Invoice {n} is wrong",
        "The amount on invoice {n} does not match our contract.",
        ("billing",),
        False,
    ),
    (
        "Shipping delay on order {n}",
        "Order {n} was due last week and has not shipped.",
        ("shipping",),
        True,
    ),
    (
        "Order {n} arrived damaged",
        "The box for order {n} was crushed and the item is broken.",
        ("shipping", "refund"),
        True,
    ),
    (
        "Change delivery address for order {n}",
        "Please ship order {n} to our new office.",
        ("shipping",),
        True,
    ),
    (
        "Cannot log in to my account",
        "The login page says my password is wrong after reset.",
        ("login",),
        False,
    ),
    (
        "Password reset email never arrives",
        "I asked for a reset link three times.",
        ("login",),
        False,
    ),
    (
        "App crashes on startup",
        "Since the last update the app closes right after launch.",
        ("bug",),
        False,
    ),
    (
        "API returns 500 error",
        "Calls to the orders API fail with a 500 since this morning.",
        ("bug", "api"),
        False,
    ),
    (
        "Feature request: dark mode",
        "It would be great to have a dark theme.",
        ("feature-request",),
        False,
    ),
    (
        "How do I export my data?",
        "Where can I download all of my records as CSV?",
        ("how-to",),
        False,
    ),
    (
        "Billing question about plan upgrade",
        "What happens to my invoice if I upgrade mid-month?",
        ("billing",),
        False,
    ),
    (
        "Cancel my subscription",
        "Please cancel our subscription at the end of the term.",
        ("billing", "churn-risk"),
        False,
    ),
    (
        "Urgent: site is down",
        "Our storefront returns errors for every customer.",
        ("bug", "outage"),
        False,
    ),
    (
        "Question about warranty",
        "Is the two-year warranty valid outside the EU?",
        ("how-to",),
        False,
    ),
)

AGENT_NAMES = (
    ("Jane Agent", "jane"),
    ("Sam Rivera", "sam"),
    ("Priya Patel", "priya"),
    ("Tom Becker", "tom"),
    ("Mei Chen", "mei"),
)
FIRST_NAMES = (
    "Alex",
    "Maria",
    "John",
    "Aisha",
    "Chen",
    "Lucas",
    "Sofia",
    "Omar",
    "Emma",
    "Noah",
    "Yuki",
    "Ivan",
    "Fatima",
    "Liam",
    "Zoe",
    "Ravi",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Kim",
    "Nguyen",
    "Müller",
    "Rossi",
    "Okafor",
    "Silva",
    "Johnson",
    "Khan",
    "Dubois",
    "Novak",
    "Tanaka",
    "Brown",
)
# Renaming keeps the seeded data: only the number of organizations feeds the random stream.
ORG_NAMES = ("Acme Enterprise", "Globex", "Initech", "Umbrella Health", "Hooli")
# (name, subdomain, share of tickets in tenths); the first is the account's default brand.
# A ticket's brand comes from a hash of its id, not from the random stream, so adding brands
# leaves every other seeded value as it was.
BRANDS = (("Sandbox", "sandbox", 6), ("Acme", "acme", 3), ("Globex Shop", "globex-shop", 1))
GROUPS = (
    ("Support", "First-line support", True),
    ("Billing", "Invoices, refunds and plans", False),
    ("Tier 2", "Escalations from Support", False),
)
EXTRA_TAGS = (("vip", 0.08), ("enterprise", 0.12), ("follow-up", 0.05), ("refund-requested", 0.04))

STATUS_WEIGHTS = (
    ("new", 10),
    ("open", 22),
    ("pending", 10),
    ("hold", 5),
    ("solved", 23),
    ("closed", 30),
)
PRIORITY_WEIGHTS: tuple[tuple[str | None, int], ...] = (
    (None, 20),
    ("low", 20),
    ("normal", 40),
    ("high", 15),
    ("urgent", 5),
)
TYPE_WEIGHTS: tuple[tuple[str | None, int], ...] = (
    (None, 30),
    ("question", 30),
    ("incident", 25),
    ("problem", 5),
    ("task", 10),
)


@dataclass
class Account:
    """Everything seeded for one account."""

    domain: str
    users: list[User]
    organizations: list[Organization]
    brands: list[Brand]
    groups: list[Group]
    fields: list[TicketField]
    agents: list[User]  # assignable agents, in the order the `assignee` column codes them
    end_users: list[User]  # in the order the `requester` column indexes them
    columns: Columns


def _cumulative(weights: tuple[tuple[object, int], ...]) -> tuple[list[object], list[int]]:
    values, totals, total = [], [], 0
    for value, weight in weights:
        total += weight
        values.append(value)
        totals.append(total)
    return values, totals


def build_fields(created: int) -> list[TicketField]:
    system = [
        ("subject", "Subject"),
        ("description", "Description"),
        ("status", "Status"),
        ("tickettype", "Type"),
        ("priority", "Priority"),
        ("group", "Group"),
        ("assignee", "Assignee"),
    ]
    fields = [
        TicketField(
            FIELD_ID_BASE + i, kind, title, i, created, required=kind == "assignee", removable=False
        )
        for i, (kind, title) in enumerate(system, start=1)
    ]
    option_id = OPTION_ID_BASE

    def options(*pairs: tuple[str, str]) -> tuple[FieldOption, ...]:
        nonlocal option_id
        made = []
        for name, value in pairs:
            option_id += 1
            made.append(FieldOption(option_id, name, value))
        return tuple(made)

    base = FIELD_ID_BASE + 100
    fields += [
        TicketField(base + 1, "text", "Order number", 10, created),
        TicketField(
            base + 2,
            "tagger",
            "Product",
            11,
            created,
            options=options(
                ("Widget", "product_widget"),
                ("Gadget", "product_gadget"),
                ("Gizmo", "product_gizmo"),
                ("API", "product_api"),
            ),
        ),
        TicketField(
            base + 3,
            "tagger",
            "Order type",
            12,
            created,
            options=options(
                ("Retail", "order_retail"),
                ("Wholesale", "order_wholesale"),
                ("Subscription", "order_subscription"),
            ),
        ),
        TicketField(base + 4, "checkbox", "Escalated", 13, created, tag="escalated"),
        TicketField(base + 5, "date", "Follow-up date", 14, created),
        TicketField(base + 6, "integer", "Units affected", 15, created),
        TicketField(
            base + 7,
            "multiselect",
            "Platforms",
            16,
            created,
            options=options(
                ("Web", "platform_web"), ("iOS", "platform_ios"), ("Android", "platform_android")
            ),
        ),
        TicketField(base + 8, "text", "Customer reference", 17, created),
    ]
    return fields


def build_brands(created: int) -> list[Brand]:
    return [
        Brand(BRAND_ID if i == 0 else BRAND_ID_BASE + i, name, subdomain, i == 0, created)
        for i, (name, subdomain, _) in enumerate(BRANDS)
    ]


_BRAND_SLOTS = tuple(i for i, (_, _, share) in enumerate(BRANDS) for _ in range(share))


def brand_index(hashed: int) -> int:
    """Which of BRANDS a ticket belongs to, from a well-spread hash of its id."""
    return _BRAND_SLOTS[hashed % len(_BRAND_SLOTS)]


def seed_account(seed: int, tickets: int, now: int, domain: str = "example.com") -> Account:
    rng = random.Random(f"sandbox:{seed}")
    origin = now - 400 * DAY  # users and groups predate every ticket
    organizations = [
        Organization(ORG_ID_BASE + i, name, origin) for i, name in enumerate(ORG_NAMES, start=1)
    ]
    groups = [
        Group(GROUP_ID_BASE + i, name, description, default, origin)
        for i, (name, description, default) in enumerate(GROUPS, start=1)
    ]
    support, billing, tier2 = (g.id for g in groups)
    org0 = organizations[0].id

    next_user = iter(range(USER_ID_BASE + 1, USER_ID_BASE + 10_000_000))
    admin = User(next(next_user), "Ada Admin", f"admin@{domain}", "admin", 4, org0, origin, support)
    bot = User(
        next(next_user), "Automation Bot", f"bot@{domain}", "agent", None, org0, origin, support
    )
    agents = [bot]
    for index, (name, local) in enumerate(AGENT_NAMES):
        group = (support, support, billing, tier2, support)[index % 5]
        agents.append(
            User(next(next_user), name, f"{local}@{domain}", "agent", None, org0, origin, group)
        )
    light = User(next(next_user), "Lee Light", f"light@{domain}", "agent", 1, org0, origin, support)
    end_user_count = min(max(20, tickets // 8), 20_000)
    end_users = []
    for k in range(end_user_count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        org = rng.choice(organizations).id if rng.random() < 0.7 else None
        email = f"{first.lower()}.{last.lower().replace('ü', 'ue')}{k + 1}@customer.test"
        end_users.append(
            User(
                next(next_user),
                f"{first} {last}",
                email,
                "end-user",
                None,
                org,
                origin + rng.randrange(300 * DAY),
            )
        )
    # Last, so that adding it moved no other user's id. Not assignable: the assignee column
    # never codes it.
    suspended = User(
        next(next_user),
        "Sid Suspended",
        f"suspended@{domain}",
        "agent",
        None,
        org0,
        origin,
        support,
        suspended=True,
    )
    users = [admin, *agents, light, *end_users, suspended]

    columns = Columns()
    _seed_tickets(rng, columns, tickets, now, agents, groups, len(end_users))
    return Account(
        domain,
        users,
        organizations,
        build_brands(origin),
        groups,
        build_fields(origin),
        [admin, *agents],
        end_users,
        columns,
    )


def _seed_tickets(
    rng: random.Random,
    columns: Columns,
    count: int,
    now: int,
    agents: list[User],
    groups: list[Group],
    end_user_count: int,
) -> None:
    status_values, status_totals = _cumulative(STATUS_WEIGHTS)
    priority_values, priority_totals = _cumulative(PRIORITY_WEIGHTS)
    type_values, type_totals = _cumulative(TYPE_WEIGHTS)
    status_code = {s: i for i, s in enumerate(STATUSES)}
    priority_code = {p: i for i, p in enumerate(PRIORITIES)}
    type_code = {t: i for i, t in enumerate(TYPES)}
    group_code = {g.id: i + 1 for i, g in enumerate(groups)}
    # The assignee column codes 1 + index into [admin, *agents]; the admin is rarely assigned.
    assignable = list(range(2, len(agents) + 2))
    choices, random_, randrange = rng.choices, rng.random, rng.randrange
    span = HISTORY_DAYS * DAY
    subject_count = len(SUBJECTS)
    extra = EXTRA_TAGS

    created_col, updated_col = columns.created, columns.updated
    for _ in range(count):
        created = now - int(span * random_() ** 1.4) - 60
        age = now - created
        status = choices(status_values, cum_weights=status_totals)[0]
        if status == "closed" and age < CLOSE_AFTER_DAYS * DAY:
            status = "solved"
        if status == "closed":
            # closing is the last update, 28 days after solving, which came after creation
            updated = created + int((age - CLOSE_AFTER_DAYS * DAY) * random_() ** 2)
            updated += CLOSE_AFTER_DAYS * DAY
        else:
            updated = created + int(age * random_() ** 2)
        subject = randrange(subject_count)
        _, _, implied, _ = SUBJECTS[subject]
        tags = set(implied)
        for tag, share in extra:
            if random_() < share:
                tags.add(tag)
        if status == "new":
            assignee_code = 0 if random_() < 0.8 else choices(assignable)[0]
            if random_() < 0.6:
                tags.add("needs-triage")
        else:
            assignee_code = choices(assignable)[0]
        agent = agents[assignee_code - 2] if assignee_code else None
        if agent is not None and random_() < 0.85:
            group = group_code[agent.default_group_id or groups[0].id]
        elif "billing" in implied or "refund" in implied:
            group = group_code[groups[1].id]
        else:
            group = 0 if random_() < 0.3 else 1 + randrange(len(groups))
        if status == "new":
            # Zendesk opens a new ticket as soon as it is assigned, so a new one has no
            # assignee; the draw above still happens, so the random stream (and every other
            # seeded value) is what it was, and these tickets keep the group it routed them to.
            assignee_code = NO_ASSIGNEE
        priority = choices(priority_values, cum_weights=priority_totals)[0]
        kind = choices(type_values, cum_weights=type_totals)[0]

        created_col.append(created)
        updated_col.append(updated)
        columns.status.append(status_code[str(status)])
        columns.priority.append(priority_code[priority])  # type: ignore[index]
        columns.type.append(type_code[kind])  # type: ignore[index]
        columns.subject.append(subject)
        columns.number.append(1000 + randrange(9000))
        columns.requester.append(randrange(end_user_count))
        columns.assignee.append(assignee_code)
        columns.group.append(group)
        columns.tagset.append(columns.intern_tags(tuple(sorted(tags))))
