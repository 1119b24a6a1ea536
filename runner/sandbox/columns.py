"""Seeded tickets in compact columns: about 25 bytes a ticket instead of a few kilobytes of dicts.

Row `i` is ticket id `i + 1`. Small values are codes into tables (status, priority, type,
subject template, tag set, assignee, group); what can be derived from a hash of the ticket id
(custom field values) is not stored at all.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

NO_ASSIGNEE = 0  # code 0 in `assignee` / `group`: none; code k: table entry k - 1


@dataclass
class Columns:
    created: array[int] = field(default_factory=lambda: array("I"))
    updated: array[int] = field(default_factory=lambda: array("I"))
    status: bytearray = field(default_factory=bytearray)
    priority: bytearray = field(default_factory=bytearray)
    type: bytearray = field(default_factory=bytearray)
    subject: bytearray = field(default_factory=bytearray)  # index into SUBJECTS
    number: array[int] = field(default_factory=lambda: array("I"))  # the {n} of the subject
    requester: array[int] = field(default_factory=lambda: array("I"))  # index into end-users
    assignee: bytearray = field(default_factory=bytearray)  # 0 or 1 + index into agents
    group: bytearray = field(default_factory=bytearray)  # 0 or 1 + index into groups
    tagset: array[int] = field(default_factory=lambda: array("H"))  # index into tag sets
    tagsets: list[tuple[str, ...]] = field(default_factory=list)
    _tagset_index: dict[tuple[str, ...], int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.created)

    def intern_tags(self, tags: tuple[str, ...]) -> int:
        index = self._tagset_index.get(tags)
        if index is None:
            index = len(self.tagsets)
            self.tagsets.append(tags)
            self._tagset_index[tags] = index
        return index

    def nbytes(self) -> int:
        """Bytes held by the column buffers (the tag set table is negligible)."""
        total = 0
        for column in (
            self.created,
            self.updated,
            self.number,
            self.requester,
            self.tagset,
        ):
            total += column.itemsize * len(column)
        for raw in (self.status, self.priority, self.type, self.subject, self.assignee, self.group):
            total += len(raw)
        return total
