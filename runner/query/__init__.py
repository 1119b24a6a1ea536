"""Zendesk search syntax: parse a query (with located errors) and match tickets against it.

Two users: the config checker (does a rule's action make its own query false? see
`Query.clauses` and `term_matches`) and the sandbox search (`compile` once, then run the
predicate over every ticket).

How a query reads (Zendesk's Support search reference, and where we had to choose):

- Words are separated by whitespace; `keyword:value`, `keyword<value`, `>`, `<=`, `>=` take no
  spaces around the operator (`updated < 2025-07-04` is an error here: in Zendesk it silently
  becomes three free words). Keywords are case-insensitive.
- `-term` negates. Repeating a keyword with `:` ORs the values (`tags:a tags:b`); every other
  combination ANDs: different keywords, negated terms, comparisons (so `created>2014-08-01
  created<2014-08-05` is a range) and free words. `Query.clauses` is that AND of ORs.
- A quoted value of `tags` needs every tag (`tags:"gold sev1"`); a quoted value elsewhere is one
  value with spaces (`organization:"MD Photo"`, `subject:"exact phrase"`).
- Free words match, case-insensitively, the start of a word of subject + description (`top`
  matches "Toppings", not "Desktop"); a `"quoted phrase"` matches whole words in that order.
  Punctuation separates words and is otherwise ignored. Zendesk also stems ("refunds" ~
  "refund"); we do not, so a query that relies on stemming matches less here, never more.
- `subject:` and `description:` match one whole word (or a phrase, quoted) of that field;
  a trailing `*` makes the last word a prefix (`subject:photo*`). `*` needs a keyword.
- Dates (`created`, `updated`, `solved`, `due_date`): a `YYYY-MM-DD` value is a whole UTC day, so
  `created>2014-08-01 created<2014-08-05` is Aug 2 through Aug 4, `created:2024-01-01` is that
  day, `<=`/`>=` include it. An ISO-8601 date-time is an instant (no offset means UTC; `T24:00`
  is the next midnight). A relative value `N<unit>` (minutes, hours, days, weeks, months, years,
  singular or plural) is the instant N units before `now`, compared like any instant: Zendesk
  documents `created>4hours` as "created in the last four hours", so `updated<7days` reads
  "updated more than 7 days ago". Short units (`4h`, `2d`) are rejected: Zendesk does not
  document them, and a query that works here but silently matches nothing there is the failure
  this module exists to catch.
- `none` (no value) works with assignee, group, organization, tags and via, as documented.
- A bare number is a ticket id. `type:` (ticket, user, organization, group), `order_by:` and
  `sort:` are not filters; they are exposed as `Query.object_type`, `order_by` and `sort`.

A query that cannot be parsed raises `QuerySyntaxError` with a 1-based column and a reason that
says what to write instead. Keywords Zendesk knows but a ticket's JSON cannot answer (comment,
commenter, cc, form, ...) are rejected by name rather than matched wrongly.

Where it lives: `syntax` (tokenizer, parser) and `values` (each keyword's value check) build the
`terms` (`Term`, `Query`) from the `keywords` vocabulary; `match` compiles them into predicates,
with `dates`, `text` and `custom` (custom field values) for the per-ticket comparisons and a
`directory` for names. Import from `runner.query`, not from these modules.
"""

from runner.query.directory import Directory, StaticDirectory
from runner.query.keywords import (
    KNOWN_KEYWORDS,
    OBJECT_TYPES,
    ORDER_FIELDS,
    PRIORITIES,
    SORT_ORDERS,
    STATUSES,
    TICKET_TYPES,
)
from runner.query.match import Predicate, compile, term_matches
from runner.query.syntax import MAX_WORDS, parse
from runner.query.terms import Query, Term
from runner.query.text import text_matches, text_pattern

__all__ = [
    "KNOWN_KEYWORDS",
    "MAX_WORDS",
    "OBJECT_TYPES",
    "ORDER_FIELDS",
    "PRIORITIES",
    "SORT_ORDERS",
    "STATUSES",
    "TICKET_TYPES",
    "Directory",
    "Predicate",
    "Query",
    "StaticDirectory",
    "Term",
    "compile",
    "parse",
    "term_matches",
    "text_matches",
    "text_pattern",
]
