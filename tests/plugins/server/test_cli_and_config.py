"""``llmplug serve`` and its keys, the config file, and what importing costs.

The command runs for real in subprocesses (its own config directory each time); the
gateway started by ``llmplug serve`` is stopped with SIGTERM and must exit cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmplug.errors import ConfigError
from llmplug.testing import scripted
from llmplug_server import GatewayKeys, read_gateway_config

from .conftest import Running

COMMAND = [sys.executable, "-m", "llmplug"]


def run(tmp_path: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMPLUG_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, env=env, timeout=60, **kwargs
    )


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    created = run(
        tmp_path,
        "serve",
        "keys",
        "create",
        "--name",
        "ci",
        "--models",
        "a,b",
        "--rpm",
        "10",
        "--budget",
        "1000",
        "--budget-period",
        "1d",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    shown = json.loads(created.stdout)
    key = shown["key"]
    assert key.startswith("llmp-")
    assert len(key) > 40
    assert shown["models"] == ["a", "b"]
    assert shown["rpm"] == 10
    assert shown["budget_tokens"] == 1000
    path = tmp_path / "config" / "llmplug" / "gateway-keys.json"
    text = path.read_text()
    assert key not in text  # stored hashed
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    listed = run(tmp_path, "serve", "keys", "list")
    assert shown["id"] in listed.stdout
    assert "rpm 10" in listed.stdout
    assert key not in listed.stdout
    revoked = run(tmp_path, "serve", "keys", "revoke", shown["id"])
    assert revoked.returncode == 0
    assert shown["id"] in revoked.stdout
    again = run(tmp_path, "serve", "keys", "revoke", shown["id"])
    assert again.returncode == 2
    assert "no gateway key has the id" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--rpm", "0"], "--rpm must be a positive number", id="rpm"),
        pytest.param(["--budget-period", "often"], "budget period", id="period"),
    ],
)
def test_keys_create_refuses_bad_limits(tmp_path: Path, args: list[str], message: str) -> None:
    result = run(tmp_path, "serve", "keys", "create", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_serve_runs_until_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text(
        '[server]\nport = 0\nkeys_file = "keys.json"\n\n'
        '[models]\nfast = "mock"\n\n[models.echo]\nspec = "mock"\ndescription = "echoes"\n'
    )
    key, _ = GatewayKeys(tmp_path / "keys.json").create("t")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMPLUG_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    proc = subprocess.Popen(
        [*COMMAND, "serve", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            if "running on" in line.lower():
                url = line.split("running on ", 1)[1].split()[0]
                break
        assert url, "the gateway did not say where it listens"
        models = httpx.get(url + "/v1/models", headers={"authorization": f"Bearer {key}"})
        assert [m["id"] for m in models.json()["data"]] == ["fast", "echo"]
        assert models.json()["data"][1]["description"] == "echoes"
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        # uvicorn drains, shuts the app down, then re-raises the signal (as supervisors expect)
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in rest
        assert "Finished server process" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_serve_reports_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text('[server]\nhots = "x"\n')
    result = run(tmp_path, "serve", "--config", str(config))
    assert result.returncode == 2
    assert "unknown key(s) ['hots'] in [server]" in result.stderr


def test_revoked_keys_are_refused_by_a_running_gateway(
    serve: Callable[..., Running], keys: GatewayKeys
) -> None:
    keys.reload_every = 0.0
    running = serve({"m": scripted()})
    key, record = keys.create("soon gone")
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    auth = {"authorization": f"Bearer {key}"}
    with httpx.Client() as http:
        assert (
            http.post(running.v1 + "/chat/completions", json=body, headers=auth).status_code == 200
        )
        keys.revoke(record.id)
        assert (
            http.post(running.v1 + "/chat/completions", json=body, headers=auth).status_code == 401
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("[servr]\n", "unknown table(s) ['servr']", id="table"),
        pytest.param('[server]\ncors_origins = ["*"]\n', "may not be '*'", id="cors-any"),
        pytest.param("[server]\nport = 70000\n", "port must be an integer", id="port"),
        pytest.param('[models]\n"bad name!" = "mock"\n', "model name 'bad name!'", id="name"),
        pytest.param(
            "[models.x]\ntemperature = 0\n", "config string or a table with a 'spec'", id="spec"
        ),
        pytest.param(
            '[models.x]\nspec = "mock"\nprice = [1]\n', "price is [input, output]", id="price"
        ),
        pytest.param("[server\n", "not valid TOML", id="toml"),
    ],
)
def test_config_errors_say_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "server.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_gateway_config(path)
    assert message in str(caught.value)


def test_config_reference_example(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text(
        '[server]\nhost = "0.0.0.0"\nport = 9000\nkeys_file = "k.json"\n'
        'cors_origins = ["https://app.example.com"]\nremote_media = true\n'
        "max_request_bytes = 4096\nshutdown_timeout = 5\n\n"
        '[models]\n"gpt-4o-mini" = "openai:gpt-4o-mini"\n'
        '[models.cheap]\nspec = "mock"\ntemperature = 0\nprice = [0.15, 0.6]\n'
    )
    config = read_gateway_config(path)
    assert (config.host, config.port, config.keys_file) == ("0.0.0.0", 9000, tmp_path / "k.json")
    assert config.cors_origins == ("https://app.example.com",)
    assert config.remote_media
    assert (config.max_request_bytes, config.shutdown_timeout) == (4096, 5.0)
    cheap = config.models["cheap"]
    assert (cheap.spec, cheap.options, cheap.price) == ("mock", {"temperature": 0}, (0.15, 0.6))
    assert cheap.cost(1_000_000, 1_000_000) == pytest.approx(0.75)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import llmplug; llmplug.load('mock').complete('hi')", id="import-and-call"),
        pytest.param("from llmplug.cli import main; main(['--help'])", id="help"),
    ],
)
def test_starlette_and_uvicorn_load_only_when_serving(code: str) -> None:
    loaded = "sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules)"
    check = f"import sys\n{code}\nprint({loaded})"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMPLUG_")}
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "llmplug serve" in result.stdout or "help" not in code or "serve" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_models_from_config_strings_aliases_and_routes(
    serve: Callable[..., Running], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[aliases]\nfast = "mock:fast-model"\n\n'
        '[aliases.group]\nspec = "balance"\ndeployments = [{ spec = "fast" }, "mock:other"]\n'
    )
    monkeypatch.setenv("LLMPLUG_CONFIG", str(config))
    running = serve(
        {
            "alias": "fast",
            "chain": "fallback:mock:a,mock:b",
            "group": "group",
            "limited": "limit:mock:c?rpm=600",
        }
    )
    body = {"messages": [{"role": "user", "content": "echo me"}]}
    auth = {"authorization": f"Bearer {running.key}"}
    with httpx.Client() as http:
        for name in ("alias", "chain", "group", "limited"):
            answer = http.post(
                running.v1 + "/chat/completions", json={**body, "model": name}, headers=auth
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["choices"][0]["message"]["content"] == "echo me"
        status = http.get(running.v1 + "/status", headers=auth).json()
    # the routes' deployments show in the routing state's snapshot
    assert "mock:a" in status["deployments"]
