"""The container files: what a deployer runs must name real commands and real settings."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from pusher.cli.main import _parser
from pusher.settings import Settings

DOCKER = Path(__file__).resolve().parents[2] / "docker"
REPO = DOCKER.parent


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / name).read_text())
    assert isinstance(data, dict)
    return data


def setting_names(model: type[BaseModel] = Settings, prefix: str = "PUSHER_") -> set[str]:
    """Every environment variable ``Settings`` reads, nested models joined with ``__``."""
    names = set()
    for name, field in model.model_fields.items():
        names.add(f"{prefix}{name.upper()}")
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= setting_names(annotation, f"{prefix}{name.upper()}__")
    return names


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping"
    return {str(k): str(v) for k, v in env.items()}


def dockerfile() -> list[str]:
    """Instructions of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_compose_runs_database_redis_migration_web_and_scalable_workers() -> None:
    services = load("compose.yaml")["services"]
    assert {"postgres", "redis", "migrate", "web", "worker"} <= set(services)
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["web"]["command"][:3] == ["serve", "--host", "0.0.0.0"]
    assert services["worker"]["command"][0] == "worker"
    for role in ("web", "worker"):
        depends = services[role]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    # `--scale worker=N` fails on a fixed name or a published port.
    assert "container_name" not in services["worker"]
    assert "ports" not in services["worker"]


def test_compose_commands_are_ones_the_cli_accepts() -> None:
    for name, service in load("compose.yaml")["services"].items():
        if service.get("build"):
            _parser().parse_args(service["command"])  # exits on an unknown command
        else:
            assert name in {"postgres", "redis"}


def test_every_long_running_service_has_a_health_check() -> None:
    services = load("compose.yaml")["services"]
    tests = {name: " ".join(s["healthcheck"].get("test", [])) for name, s in services.items()}
    assert "pg_isready" in tests["postgres"]
    assert "redis-cli ping" in tests["redis"]
    assert "/readyz" in tests["web"]
    assert "/metrics" in tests["worker"] and "9100" in tests["worker"]
    assert services["worker"]["environment"]["PUSHER_METRICS_PORT"] == "9100"
    assert services["migrate"]["healthcheck"] == {"disable": True}


def test_data_lives_in_named_volumes() -> None:
    compose = load("compose.yaml")
    services = compose["services"]
    assert set(compose["volumes"]) == {"pgdata", "redisdata"}
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redisdata:/data" in services["redis"]["volumes"]


def test_pusher_services_read_the_env_file_and_talk_to_the_stack() -> None:
    services = load("compose.yaml")["services"]
    for role in ("migrate", "web", "worker"):
        service = services[role]
        assert service["env_file"] == "../.env"
        assert service["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
        env = environment(service)
        assert "@postgres:5432/" in env["PUSHER_DATABASE_URL"]
        assert env["PUSHER_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["PUSHER_REDIS_URL"] == "redis://redis:6379/0"


@pytest.mark.parametrize("name", ["compose.yaml", "compose.emulators.yaml"])
def test_every_pusher_variable_in_compose_is_a_setting(name: str) -> None:
    known = setting_names()
    for service in load(name)["services"].values():
        unknown = {k for k in environment(service) if k.startswith("PUSHER_")} - known
        assert not unknown, f"{name}: not settings: {sorted(unknown)}"


def test_emulators_run_each_provider_and_the_services_point_at_them() -> None:
    compose = load("compose.emulators.yaml")
    services = compose["services"]
    ports = {}
    for provider in ("wechat", "wecom", "aliyun-sms", "tencent-sms", "cmpp"):
        command = services[f"{provider}-emulator"]["command"]
        assert command[:2] == ["emulate", provider]
        assert "--host" in command and command[command.index("--host") + 1] == "0.0.0.0"
        ports[provider] = command[command.index("--port") + 1]
        assert ports[provider] in " ".join(services[f"{provider}-emulator"]["healthcheck"]["test"])
    for role in ("web", "worker"):
        env = environment(services[role])
        for provider, setting in (
            ("wechat", "WECHAT"),
            ("wecom", "WECOM"),
            ("aliyun-sms", "ALIYUN_SMS"),
            ("tencent-sms", "TENCENT_SMS"),
        ):
            url = f"http://{provider}-emulator:{ports[provider]}/"
            assert env[f"PUSHER_{setting}__BASE_URL"] == url
        assert (env["PUSHER_CMPP__HOST"], env["PUSHER_CMPP__PORT"]) == ("cmpp-emulator", "7890")
        assert set(services[role]["depends_on"]) == {f"{p}-emulator" for p in ports}


def test_provider_settings_from_the_emulators_file_configure_real_clients() -> None:
    env = environment(load("compose.emulators.yaml")["services"]["worker"])
    settings = Settings(**_nested(env), _env_file=None)  # type: ignore[call-arg]
    assert settings.wechat.configured and settings.wecom_enabled
    assert settings.aliyun_sms.configured and settings.tencent_sms.configured
    assert settings.cmpp.configured


def _nested(env: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in env.items():
        parts = key.removeprefix("PUSHER_").lower().split("__")
        target = values
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return values


def test_emulator_commands_are_ones_the_cli_accepts() -> None:
    for service in load("compose.emulators.yaml")["services"].values():
        if "command" in service:
            _parser().parse_args(service["command"])


def test_dockerfile_is_multi_stage_and_runs_as_a_user() -> None:
    lines = dockerfile()
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2 and all("python:3.11-slim" in line for line in stages)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert lines.index(next(x for x in lines if x.startswith("USER "))) > lines.index(stages[-1])


def test_dockerfile_installs_the_lock_then_the_project_without_resolving() -> None:
    runs = [line for line in dockerfile() if line.startswith("RUN ")]
    lock = next(i for i, r in enumerate(runs) if "-r requirements.lock" in r)
    project = next(i for i, r in enumerate(runs) if "--no-deps ." in r)
    assert lock < project


def test_dockerfile_copies_only_what_exists_and_the_packages_the_project_declares() -> None:
    copies = [shlex.split(line)[1:] for line in dockerfile() if line.startswith("COPY ")]
    sources = {src for args in copies if not args[0].startswith("--from") for src in args[:-1]}
    for source in sources:
        assert (REPO / source).exists(), source
    assert {"pusher", "channels", "rules", "subscriptions", "requirements.lock"} <= sources


def test_image_builds_the_jieba_cache_and_points_settings_at_it() -> None:
    lines = dockerfile()
    build = next(line for line in lines if "build_tokenizer(cache_dir=" in line)
    cache_dir = re.search(r"cache_dir='([^']+)'", build)
    assert cache_dir
    env = " ".join(line for line in lines if line.startswith("ENV "))
    assert f"PUSHER_JIEBA_CACHE_DIR={cache_dir[1]}" in env
    assert "PUSHER_JIEBA_CACHE_DIR" in setting_names()
    # compose's environment beats ../.env, which may name a local path
    for role in ("migrate", "web", "worker"):
        service = load("compose.yaml")["services"][role]
        assert environment(service)["PUSHER_JIEBA_CACHE_DIR"] == cache_dir[1]


def test_image_checks_health_and_runs_pusher() -> None:
    lines = dockerfile()
    health = next(line for line in lines if line.startswith("HEALTHCHECK "))
    assert "/healthz" in health
    assert 'ENTRYPOINT ["pusher"]' in lines
    command = next(line for line in lines if line.startswith("CMD "))
    _parser().parse_args(yaml.safe_load(command.removeprefix("CMD ")))


def test_every_pusher_variable_in_the_image_is_a_setting() -> None:
    env = " ".join(line for line in dockerfile() if line.startswith("ENV "))
    names = set(re.findall(r"\b(PUSHER_[A-Z0-9_]+)=", env))
    assert names and not names - setting_names()
