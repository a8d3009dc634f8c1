"""``llmplug keys`` and ``llmplug aliases``, run for real."""

from __future__ import annotations

import json
import os
import stat

import pytest

from .conftest import Env

CANARY = "sk-canary-keys-0123456789"


def test_keys_set_list_path_remove(env: Env) -> None:
    path = env.run("keys", "path")
    assert (path.code, path.out) == (0, f"{env.config_dir / 'keys.json'}\n")
    stored = env.run("keys", "set", "OPENAI_API_KEY", stdin=CANARY + "\n")
    assert stored.code == 0
    assert "Stored OPENAI_API_KEY" in stored.err
    keys_file = env.config_dir / "keys.json"
    assert json.loads(keys_file.read_text(encoding="utf-8")) == {"OPENAI_API_KEY": CANARY}
    if os.name == "posix":
        assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    listed = env.run("keys", "list")
    assert (listed.code, listed.out) == (0, "OPENAI_API_KEY\n")
    as_json = json.loads(env.run("keys", "list", "--json").out)
    assert as_json == {"path": str(keys_file), "keys": ["OPENAI_API_KEY"]}
    removed = env.run("keys", "remove", "OPENAI_API_KEY")
    assert removed.code == 0
    assert env.run("keys", "list").out == ""
    again = env.run("keys", "remove", "OPENAI_API_KEY")
    assert again.code == 2
    assert "no key named OPENAI_API_KEY is stored" in again.err
    for result in (path, stored, listed, removed, again):
        assert CANARY not in result.out + result.err


def test_a_provider_name_stands_for_its_key(env: Env) -> None:
    assert env.run("keys", "set", "groq", stdin=CANARY).code == 0
    assert env.run("keys", "list").out == "GROQ_API_KEY\n"
    options = env.run("options", "groq")
    assert "API key: GROQ_API_KEY (key store;" in options.out
    assert env.run("keys", "remove", "groq").code == 0


@pytest.mark.parametrize(
    ("name", "stdin", "message"),
    [
        pytest.param("nosuch", CANARY, "neither a key's name", id="unknown-provider"),
        pytest.param("mock", CANARY, "takes no API key", id="keyless-provider"),
        pytest.param("MY_KEY", "", "is empty", id="empty"),
        pytest.param("MY_KEY", "two words", "contains whitespace", id="not-a-key"),
    ],
)
def test_keys_set_refuses_with_a_reason(env: Env, name: str, stdin: str, message: str) -> None:
    result = env.run("keys", "set", name, stdin=stdin)
    assert result.code == 2
    assert message in result.err
    assert not (env.config_dir / "keys.json").exists()


def test_a_stored_key_is_used_by_the_provider(env: Env) -> None:
    # groq needs a key: without one it fails before any request; with one stored it tries
    # (and fails to connect to a closed port: the key was found)
    spec = "groq:m?base_url=http://127.0.0.1:9/v1&max_retries=0"
    assert env.run("chat", "-m", "groq:m", "hi").code == 2
    env.run("keys", "set", "GROQ_API_KEY", stdin=CANARY)
    result = env.run("chat", "-m", spec, "hi")
    assert result.code == 1
    assert "GROQ_API_KEY" not in result.err
    assert CANARY not in result.err


ORIGINAL = """\
# my settings: keep this comment
default = "fast"

[aliases]
fast = "mock:quick"   # the quick one
"""


def test_aliases_set_list_remove_keep_the_file(env: Env) -> None:
    config = env.config_dir / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(ORIGINAL, encoding="utf-8")
    result = env.run("aliases", "set", "short", "mock?max_tokens=2")
    assert result.code == 0, result.err
    text = config.read_text(encoding="utf-8")
    assert text.startswith(ORIGINAL.rstrip("\n"))  # comments and layout kept
    assert 'short = "mock?max_tokens=2"' in text
    assert env.run("chat", "-m", "short", "one two three").out == "one two\n"
    listed = env.run("aliases", "list")
    assert listed.out.splitlines()[1:] == ["fast   mock:quick", "short  mock?max_tokens=2"]
    as_json = json.loads(env.run("aliases", "list", "--json").out)
    assert as_json["short"] == {"spec": "mock?max_tokens=2", "options": {}}
    assert env.run("aliases", "remove", "short").code == 0
    assert config.read_text(encoding="utf-8") == ORIGINAL
    missing = env.run("aliases", "remove", "short")
    assert missing.code == 2
    assert "no alias named 'short'" in missing.err
    assert env.run("aliases", "path").out == f"{config}\n"


def test_aliases_set_refuses_bad_input_and_warns_on_unknown_providers(env: Env) -> None:
    bad = env.run("aliases", "set", "Fast", "mock")
    assert bad.code == 2
    assert "cannot be used in a config string" in bad.err
    assert env.run("aliases", "set", "x", "mock:").code == 2
    unknown = env.run("aliases", "set", "later", "notinstalled:m")
    assert unknown.code == 0
    assert "unknown provider 'notinstalled'" in unknown.err
    assert "The alias is saved" in unknown.err


def test_alias_secrets_are_not_listed(env: Env) -> None:
    env.run("aliases", "set", "keyed", f"mock?api_key={CANARY}")
    listed = env.run("aliases", "list")
    assert "keyed  mock?api_key=<redacted>" in listed.out
    assert CANARY not in listed.out + env.run("aliases", "list", "--json").out
