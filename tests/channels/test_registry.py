"""What the registry generates for each provider, against expectations written out by hand.

Each provider's routes, command-line name, emulate command, compose service and
settings section are read from where the service really gets them (the callback
routes registered, the CLI parser, docker/compose.emulators.yaml, the Settings
model) and compared with a table written independently below: removing a
provider's registry line, or a part of its descriptor, fails here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from channels import registry
from channels.aliyun_sms import AliyunSmsChannel, AliyunSmsSettings
from channels.base import ChannelKind
from channels.cmpp.channel import CmppSettings
from channels.descriptor import Provider
from channels.sandbox import SandboxChannel, SandboxMessage
from channels.sms_templates import TemplateError
from channels.tencent_sms import TencentSmsChannel, TencentSmsSettings
from channels.wechat import WeChatSettings
from channels.wecom import WeComSettings
from pusher.cli.main import _parser
from pusher.settings import Settings
from pusher.web.callbacks import callback_routes
from tests.channels.rigs import SMS_TEMPLATES
from tests.channels.specs import RIGS, SPECS

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.emulators.yaml"
SMS_ROUTES = ("report", "reply")


@dataclass(frozen=True)
class Generated:
    kind: str | None
    routes: frozenset[tuple[str, str]]
    cli: str | None
    emulate: tuple[str, ...] | None
    service: str | None
    section: tuple[str, type[BaseModel]] | None


def _sms_routes(name: str) -> frozenset[tuple[str, str]]:
    return frozenset(("POST", f"/callbacks/{name}/{k}/{{secret}}") for k in SMS_ROUTES)


def _emulate(cli: str, port: int) -> tuple[str, ...]:
    return ("emulate", cli, "--host", "0.0.0.0", "--port", str(port))


EXPECTED: dict[str, Generated] = {
    "wechat": Generated(
        "wechat",
        frozenset({("GET", "/callbacks/wechat"), ("POST", "/callbacks/wechat")}),
        "wechat",
        _emulate("wechat", 9001),
        "wechat-emulator",
        ("wechat", WeChatSettings),
    ),
    "wecom": Generated(
        "wecom",
        frozenset(),  # robots send no callbacks
        "wecom",
        _emulate("wecom", 9002),
        "wecom-emulator",
        ("wecom", WeComSettings),
    ),
    "aliyun": Generated(
        "sms",
        _sms_routes("aliyun"),
        "aliyun-sms",
        _emulate("aliyun-sms", 9003),
        "aliyun-sms-emulator",
        ("aliyun_sms", AliyunSmsSettings),
    ),
    "tencent": Generated(
        "sms",
        _sms_routes("tencent"),
        "tencent-sms",
        _emulate("tencent-sms", 9004),
        "tencent-sms-emulator",
        ("tencent_sms", TencentSmsSettings),
    ),
    "cmpp": Generated(
        "sms",
        frozenset(),  # reports and replies come over its own connection
        "cmpp",
        _emulate("cmpp", 7890),
        "cmpp-emulator",
        ("cmpp", CmppSettings),
    ),
    "sandbox": Generated(None, frozenset(), None, None, None, None),
}


def _choices(parser: argparse.ArgumentParser, command: str) -> list[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    positional = next(a for a in sub.choices[command]._actions if a.choices)
    return list(positional.choices or [])


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def generated(name: str) -> Generated:
    """What the service offers for provider ``name``, read from where it really is."""
    provider = registry.provider(name)
    routes = frozenset(
        (method, path)
        for method, path, _ in callback_routes()
        if path == f"/callbacks/{name}" or path.startswith(f"/callbacks/{name}/")
    )
    parser = _parser()
    cli = provider.cli if provider.cli in _choices(parser, "send-test") else None
    services = _compose()["services"]
    service = f"{provider.cli}-emulator"
    emulate = None
    if provider.cli in _choices(parser, "emulate") and service in services:
        emulate = tuple(services[service]["command"])
    field = Settings.model_fields.get(provider.section or "")
    section = None
    if field is not None and isinstance(field.annotation, type):
        section = (provider.section or "", field.annotation)
    kind = provider.kind.value if provider.kind is not None else None
    return Generated(kind, routes, cli, emulate, service if service in services else None, section)


def test_the_registry_generates_what_each_provider_is_expected_to_have() -> None:
    names = [p.name for p in registry.PROVIDERS]
    assert len(set(names)) == len(names)
    assert {name: generated(name) for name in names} == EXPECTED


def test_nothing_routes_or_runs_a_provider_the_registry_does_not_list() -> None:
    names = {p.name for p in registry.PROVIDERS}
    routed = {path.split("/")[2] for _, path, _ in callback_routes()}
    assert routed <= names
    clis = {p.cli for p in registry.PROVIDERS}
    parser = _parser()
    assert set(_choices(parser, "emulate")) <= clis
    assert set(_choices(parser, "send-test")) <= clis
    emulators = {s for s in _compose()["services"] if s.endswith("-emulator")}
    assert emulators == {f"{p.cli}-emulator" for p in registry.emulated()}


def _compose_env() -> dict[str, str]:
    """The provider settings compose gives web and worker, as the registry says they are."""
    env: dict[str, str] = {}
    for p in registry.emulated():
        assert p.emulator is not None
        base_url = f"http://{p.cli}-emulator:{p.emulator.port}/"
        if p.switch is not None:
            env[f"PUSHER_{p.switch.upper()}"] = "true"
        for key, value in p.emulator.settings.items():
            env[f"{p.env_prefix}{key.upper()}"] = value.format(base_url=base_url)
    env["PUSHER_SMS_PROVIDER"] = registry.names(ChannelKind.SMS)[0]
    return env


def test_compose_emulators_match_the_registry() -> None:
    """docker/compose.emulators.yaml is checked, not generated: this says what to write."""
    services = _compose()["services"]
    for p in registry.emulated():
        assert p.emulator is not None
        service = services[f"{p.cli}-emulator"]
        assert service["command"] == [*_emulate(str(p.cli), p.emulator.port)]
        assert str(p.emulator.port) in service["healthcheck"]["test"]
    for role in ("web", "worker"):
        env = {k: str(v) for k, v in services[role]["environment"].items()}
        assert env == _compose_env(), yaml.safe_dump(_compose_env(), allow_unicode=True)
        assert set(services[role]["depends_on"]) == {
            f"{p.cli}-emulator" for p in registry.emulated()
        }


def test_env_example_has_a_section_for_every_provider() -> None:
    text = (COMPOSE.parents[1] / ".env.example").read_text(encoding="utf-8")
    for p in registry.PROVIDERS:
        if p.settings is None:
            continue
        for name in p.settings.model_fields:
            assert f"{p.env_prefix}{name.upper()}=" in text, (p.name, name)


@pytest.mark.parametrize(
    "provider",
    [p for p in registry.PROVIDERS if p.required],
    ids=[p.name for p in registry.PROVIDERS if p.required],
)
def test_required_fields_are_what_the_settings_call_configured(
    provider: Provider,
) -> None:
    assert provider.settings is not None
    full = provider.settings(**{name: "x" for name in provider.required})
    assert provider.ready(full) and getattr(full, "configured", True)
    for name in provider.required:
        empty = SecretStr("") if isinstance(getattr(full, name), SecretStr) else ""
        short = full.model_copy(update={name: empty})
        assert not provider.ready(short)
        assert not getattr(short, "configured", False), name


def _sms(**values: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        aliyun_sms=AliyunSmsSettings(
            access_key_id="k",
            access_key_secret=SecretStr("s"),
            sign_name="阿",
            template_code="T",
            templates_file=str(SMS_TEMPLATES / "aliyun.yaml"),
        ),
        tencent_sms=TencentSmsSettings(
            secret_id="i",
            secret_key=SecretStr("s"),
            sdk_app_id="1",
            sign_name="腾",
            template_id="2",
            templates_file=str(SMS_TEMPLATES / "tencent.yaml"),
        ),
        **values,
    )


async def _keep(_: Any) -> None:
    return None


@pytest.mark.parametrize(
    ("preferred", "channel", "sign"),
    [("aliyun", AliyunSmsChannel, "阿"), ("tencent", TencentSmsChannel, "腾")],
)
async def test_the_sms_order_comes_from_settings(preferred: str, channel: type, sign: str) -> None:
    settings = _sms(sms_provider=preferred)
    async with aiohttp.ClientSession() as http:
        channels = registry.build_channels(settings, http=http, sandbox_sink=_keep)
    assert type(channels[ChannelKind.SMS]) is channel
    assert settings.sms_signature == sign


@pytest.mark.parametrize(("preferred", "word"), [("aliyun", "ALIYUN"), ("tencent", "TENCENT")])
async def test_a_template_account_without_its_templates_is_refused_at_start(
    preferred: str, word: str
) -> None:
    settings = _sms(sms_provider=preferred)
    section = getattr(settings, f"{preferred}_sms")
    setattr(settings, f"{preferred}_sms", section.model_copy(update={"templates_file": ""}))
    async with aiohttp.ClientSession() as http:
        with pytest.raises(TemplateError, match=f"PUSHER_{word}_SMS__TEMPLATES_FILE"):
            registry.build_channels(settings, http=http, sandbox_sink=_keep)


async def test_kinds_without_a_configured_provider_get_the_sandbox() -> None:
    kept: list[SandboxMessage] = []

    async def sink(batch: Any) -> None:
        kept.extend(batch)

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with aiohttp.ClientSession() as http:
        channels = registry.build_channels(settings, http=http, sandbox_sink=sink)
    assert set(channels) == set(ChannelKind)
    assert all(type(c) is SandboxChannel for c in channels.values())


def test_an_unknown_sms_provider_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown SMS provider"):
        _sms(sms_provider="huawei")


def test_every_provider_has_a_rig_for_the_contract_tests() -> None:
    assert set(RIGS) == {p.name for p in registry.PROVIDERS}
    assert [s.name for s in SPECS] == [p.name for p in registry.PROVIDERS]
