"""`zdops init`: starter files, age keys, refusal to overwrite, and init -> tokens add -> validate.

Real sops and real age keys, with HOME and XDG_CONFIG_HOME in a scratch directory (`sops_env`).
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from runner import agekeys
from runner.cli import main
from runner.errors import SecretsError, ZdopsError


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.output


def new_recipient() -> str:
    from pyrage import x25519

    return str(x25519.Identity.generate().to_public())


def test_init_writes_config_rules_and_a_new_key(tmp_path: Path, sops_env: Path) -> None:
    code, out = run("init", str(tmp_path / "repo"))
    assert code == 0, out
    key_file = sops_env / ".config" / "sops" / "age" / "keys.txt"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    identity = next(line for line in key_file.read_text().splitlines()
                    if line.startswith("AGE-SECRET-KEY-1"))
    assert identity not in out  # the private key is never printed
    assert str(key_file) in out and "Back it up" in out and "SOPS_AGE_KEY" in out

    rules = yaml.safe_load((tmp_path / "repo" / ".sops.yaml").read_text())
    rule = rules["creation_rules"][0]
    assert rule["encrypted_regex"] == "^key$"
    assert rule["mac_only_encrypted"] is True
    assert rules["stores"] == {"yaml": {"indent": 2}}
    written = rule["age"]
    assert agekeys.RECIPIENT_RE.match(written) and written in out

    config = yaml.safe_load((tmp_path / "repo" / "config.yaml").read_text())
    assert config["tokens"] == []
    assert [r["recipient"] for r in config["sops"]["age"]] == [written]
    assert config["sops"]["mac_only_encrypted"] is True


def test_init_appends_to_an_existing_key_file(tmp_path: Path, sops_env: Path) -> None:
    key_file = tmp_path / "keys.txt"
    key_file.write_text("# an older key\nAGE-SECRET-KEY-1OLDKEYKEPT")  # no trailing newline
    code, out = run("init", str(tmp_path / "repo"), "--key-file", str(key_file))
    assert code == 0, out
    lines = key_file.read_text().splitlines()
    assert lines[:2] == ["# an older key", "AGE-SECRET-KEY-1OLDKEYKEPT"]
    assert sum(line.startswith("AGE-SECRET-KEY-1") for line in lines) == 2
    assert "appended to" in out


def test_init_reports_the_real_mode_of_a_key_file_it_appends_to(
    tmp_path: Path, sops_env: Path
) -> None:
    key_file = tmp_path / "keys.txt"
    key_file.write_text("AGE-SECRET-KEY-1OLDKEYKEPT\n")
    key_file.chmod(0o644)
    code, out = run("init", str(tmp_path / "repo"), "--key-file", str(key_file))
    assert code == 0, out
    assert f"{key_file} (mode 0644)" in out and "0600" not in out
    assert f"other users can read it: chmod 600 {key_file}" in out


def test_append_identity_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("mine\n")
    with pytest.raises(ZdopsError, match="cannot write the age key file"):
        agekeys.append_identity(tmp_path / "a-file" / "keys.txt", agekeys.generate())
    assert (tmp_path / "a-file").read_text() == "mine\n"


def test_init_for_given_recipients_makes_no_key(tmp_path: Path, sops_env: Path) -> None:
    first, second = new_recipient(), new_recipient()
    code, out = run("init", str(tmp_path), "--age", first, "--age", f" {second} ",
                    "--age", first, "--subdomain", "acme")
    assert code == 0, out
    assert not (sops_env / ".config" / "sops").exists()
    rules = yaml.safe_load((tmp_path / ".sops.yaml").read_text())
    assert rules["creation_rules"][0]["age"] == f"{first},{second}"
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert [r["recipient"] for r in config["sops"]["age"]] == [first, second]
    assert config["zendesk"] == {"subdomain": "acme"}
    assert "new age key" not in out and "set zendesk.subdomain" not in out


@pytest.mark.parametrize("existing", ["config.yaml", ".sops.yaml"])
def test_init_refuses_to_overwrite(tmp_path: Path, sops_env: Path, existing: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / existing).write_text("mine: true\n")
    code, out = run("init", str(repo))
    assert code == 1
    assert f"{repo / existing} already exists; nothing was written" in out
    assert "--force" in out
    assert (repo / existing).read_text() == "mine: true\n"
    assert sorted(p.name for p in repo.iterdir()) == [existing]
    assert not (sops_env / ".config" / "sops").exists()  # no key made either

    code, out = run("init", str(repo), "--force", "--age", new_recipient())
    assert code == 0, out
    assert "mine" not in (repo / existing).read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--age", "age1short"], "'age1short' is not an age recipient"),
        (["--age", "AGE-SECRET-KEY-1" + "Q" * 58], "an age private key is not an age recipient"),
        (["--subdomain", "Not_A_Subdomain"], "zendesk.subdomain"),
        (["--url", "http://example.com"], "zendesk.url"),
        (["--subdomain", "acme", "--url", "http://127.0.0.1:1"], "not both"),
    ],
)
def test_init_rejects_bad_input_and_writes_nothing(
    tmp_path: Path, sops_env: Path, args: list[str], message: str
) -> None:
    code, out = run("init", str(tmp_path / "repo"), *args)
    assert code == 1
    assert message in out
    assert "Q" * 58 not in out
    assert not (tmp_path / "repo").exists()
    assert not (sops_env / ".config" / "sops").exists()


def test_init_takes_comma_separated_recipients_as_sops_does(tmp_path: Path, sops_env: Path) -> None:
    first, second, third = new_recipient(), new_recipient(), new_recipient()
    code, out = run("init", str(tmp_path), "--age", f"{first},{second}", "--age", third)
    assert code == 0, out
    rules = yaml.safe_load((tmp_path / ".sops.yaml").read_text())
    assert rules["creation_rules"][0]["age"] == f"{first},{second},{third}"
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert [r["recipient"] for r in config["sops"]["age"]] == [first, second, third]

    code, out = run("init", str(tmp_path / "other"), "--age", f"{first},age1oops")
    assert code == 1
    assert "'age1oops' is not an age recipient" in out
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize("target", ["a-file", "a-file/sub/dir"])
def test_init_under_a_file_is_an_error_and_makes_no_key(
    tmp_path: Path, sops_env: Path, target: str
) -> None:
    (tmp_path / "a-file").write_text("mine\n")
    done = subprocess.run(
        [sys.executable, "-m", "runner", "init", str(tmp_path / target)],
        env={"HOME": str(sops_env), "PATH": str(Path(sys.executable).parent)},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert f"{tmp_path / 'a-file'} exists and is not a directory" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "home"]
    # no stray key for a config that was never written
    assert not (sops_env / ".config" / "sops").exists()


def test_init_key_file_under_a_file_is_an_error(tmp_path: Path, sops_env: Path) -> None:
    (tmp_path / "a-file").write_text("mine\n")
    code, out = run("init", str(tmp_path / "repo"), "--key-file", str(tmp_path / "a-file" / "k"))
    assert code == 1
    assert f"{tmp_path / 'a-file'} exists and is not a directory" in out
    assert "--key-file" in out
    assert not (tmp_path / "repo").exists()
    assert (tmp_path / "a-file").read_text() == "mine\n"


def test_init_next_steps_can_be_pasted_for_a_directory_with_a_space(
    tmp_path: Path, sops_env: Path
) -> None:
    repo = tmp_path / "my config"
    code, out = run("init", str(repo), "--subdomain", "acme")
    assert code == 0, out
    step = next(line for line in out.splitlines() if "zdops tokens add" in line)
    words = shlex.split(step.split(". ", 1)[1])
    assert words[-1] == str(repo / "config.yaml")
    code, out = run(*words[1:], input="k3y-value\n")
    assert code == 0, out


def test_init_then_tokens_add_then_validate(tmp_path: Path, sops_env: Path) -> None:
    """The README's path: init, add the primary token (key on stdin), validate passes."""
    repo = tmp_path / "repo"
    assert run("init", str(repo), "--subdomain", "acme")[0] == 0
    config = str(repo / "config.yaml")

    code, out = run("validate", config)
    assert code == 1
    assert "no tokens" in out and "zdops tokens add" in out
    assert out.count("error") <= 2  # the one problem, and the summary line

    secret = "starter-oauth-Kx81s3cr3tValue"
    code, out = run("tokens", "add", "automation-bot", "--email", "bot@acme.test", "--primary",
                    config, input=secret + "\n")
    assert code == 0, out
    assert secret not in out and secret not in (repo / "config.yaml").read_text()
    assert run("validate", config) == (0, f"{config}: valid\n")

    # and the key decrypts with the key init stored where sops looks by default
    from runner.secrets import decrypt_keys

    assert decrypt_keys(repo / "config.yaml", ["automation-bot"])["automation-bot"].reveal() \
        == secret


def test_keygen_fallback_reads_age_keygen_output(
    tmp_path: Path, sops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pyrage, the key comes from `age-keygen` on PATH (its documented output)."""
    from pyrage import x25519

    identity = x25519.Identity.generate()
    fake = tmp_path / "bin" / "age-keygen"
    fake.parent.mkdir()
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "print('# created: 2026-01-01T00:00:00Z')\n"
        f"print('# public key: {identity.to_public()}')\n"
        f"print('{identity}')\n"
        "print('Public key: x', file=sys.stderr)\n"
    )
    fake.chmod(0o755)
    monkeypatch.setitem(sys.modules, "pyrage", None)  # as if the sops extra were not installed
    monkeypatch.setenv("PATH", str(fake.parent))
    key = agekeys.generate()
    assert key.recipient == str(identity.to_public())
    assert key.identity.reveal() == str(identity)
    assert str(identity) not in repr(key)

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SecretsError, match="neither pyrage nor age-keygen"):
        agekeys.generate()


def test_default_key_file_follows_sops(monkeypatch: pytest.MonkeyPatch) -> None:
    assert agekeys.default_key_file({"XDG_CONFIG_HOME": "/x", "HOME": "/h"}) == Path(
        "/x/sops/age/keys.txt"
    )
    if sys.platform != "darwin":
        assert agekeys.default_key_file({"HOME": "/h"}) == Path("/h/.config/sops/age/keys.txt")
    with pytest.raises(ZdopsError, match="HOME is not set"):
        agekeys.default_key_file({})


def test_init_key_file_is_created_private_even_with_a_lax_umask(
    tmp_path: Path, sops_env: Path
) -> None:
    old = os.umask(0)
    try:
        code, _ = run("init", str(tmp_path / "repo"), "--key-file", str(tmp_path / "k" / "a.txt"))
    finally:
        os.umask(old)
    assert code == 0
    assert stat.S_IMODE((tmp_path / "k" / "a.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o700


def test_init_runs_as_a_subprocess_with_only_python_on_path(tmp_path: Path, sops_env: Path) -> None:
    env = {"HOME": str(sops_env), "PATH": str(Path(sys.executable).parent)}
    done = subprocess.run([sys.executable, "-m", "runner", "init", str(tmp_path / "r")],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert (sops_env / ".config" / "sops" / "age" / "keys.txt").exists()


def test_init_over_a_directory_named_like_its_config_writes_nothing(
    tmp_path: Path, sops_env: Path
) -> None:
    (tmp_path / "repo" / "config.yaml").mkdir(parents=True)
    key_file = tmp_path / "keys.txt"
    key_file.write_text("AGE-SECRET-KEY-1OLDKEYKEPT\n")
    code, out = run("init", str(tmp_path / "repo"), "--force", "--key-file", str(key_file))
    assert code == 1 and "is a directory, not a file" in out
    assert key_file.read_text() == "AGE-SECRET-KEY-1OLDKEYKEPT\n"
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == ["config.yaml"]


@pytest.mark.parametrize("created", [True, False])
def test_a_withdrawn_key_leaves_the_key_file_as_it_was(tmp_path: Path, created: bool) -> None:
    key_file = tmp_path / "keys.txt"
    if not created:
        key_file.write_text("# mine\nAGE-SECRET-KEY-1OLDKEYKEPT")  # no trailing newline
    before = None if created else key_file.read_bytes()
    stored = agekeys.append_identity(key_file, agekeys.generate())
    assert stored.created_file is created
    agekeys.withdraw(stored)
    assert (key_file.read_bytes() if key_file.exists() else None) == before
