"""sops_index: the index sops itself gives a token when YAML comments sit in the list.

Each layout is encrypted with the real sops, and `sops decrypt --extract '["tokens"][i]'`
must name the token sops_index computed, both for the text as written and as sops rewrote it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from fixtures_sops import AgeKey, encrypt_to

from runner.tokens import detect_indent, set_flag_in_text, sops_index

CASES = [
"""version: 1
tokens:
  # first comment
  # second comment line
  - name: a
    email: x  # inline
    # inside mapping
    key: x
  # between
  - name: b
    key: y
  # trailing
rules: []
""",
"""version: 1
tokens:
  - name: a
    key: x
  # after a, before blank

  - name: b
    key: y
""",
"""version: 1
tokens:
  - name: a
    key: x

  # after blank before b
  - name: b
    key: y
""",
"""version: 1
tokens:
  - name: a
    key: x
    # deeper between
  - name: b
    key: y
""",
"""version: 1
tokens:
  - name: a
    key: x
# col0 between
  - name: b
    key: y
""",
"""version: 1
tokens:
- name: a
  key: x
# col0 between, zero-indent list
- name: b
  key: y
""",
"""version: 1
tokens: # on tokens line
  - name: a  # on a
    key: x   # on key
  - # dash alone
    name: b
    key: y
""",
"""version: 1
# before tokens
tokens:

  # blank then comment

  - name: a
    key: x
  - name: b
    key: |
      multi
      line
  # c1
  # c2

  # c3
  - name: c
    key: z
""",
"""version: 1
tokens:
  - name: a
    key: x
  # foot a

  # head b
  - name: b
    key: y
  - {name: c, key: z}  # flow
  # after flow
  - name: d
    key: w
""",
]


def extract_name(sops_bin: str, path: Path, index: int) -> str:
    completed = subprocess.run(
        [sops_bin, "decrypt", "--extract", f'["tokens"][{index}]["name"]', str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "SOPS_DISABLE_VERSION_CHECK": "1"},
        timeout=60,
        check=False,
    )
    return completed.stdout


@pytest.mark.parametrize("text", CASES)
def test_index_matches_sops(text: str, tmp_path: Path, age_key: AgeKey, sops_bin: str) -> None:
    path = tmp_path / "config.yaml"
    encrypt_to(path, text, recipients=[age_key.recipient])
    rewritten = path.read_text()
    for name in "abcd":
        if f"name: {name}" not in text:
            continue
        assert extract_name(sops_bin, path, sops_index(text, name)) == name
        assert extract_name(sops_bin, path, sops_index(rewritten, name)) == name


def test_detect_indent() -> None:
    assert detect_indent("zendesk:\n  subdomain: a\n") == 2
    assert detect_indent("zendesk:\n    subdomain: a\nsops:\n    age: []\n") == 4
    assert detect_indent("version: 1\n") == 4


def test_set_flag_in_text_edits_only_the_value() -> None:
    text = "tokens:\n  - name: a\n    primary: true  # keep\n  - name: b\n    key: x\n"
    assert set_flag_in_text(text, "a", False) == text.replace("true  #", "false  #")
    added = set_flag_in_text(text, "b", True)
    assert added == text + "    primary: true\n"
    assert set_flag_in_text(text, "b", False) == text
