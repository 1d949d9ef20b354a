"""Settings: environment names, nesting, secrets hidden, and .env.example complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from pusher.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _names(model: type[BaseModel], prefix: str = "PUSHER_") -> set[str]:
    names = set()
    for name, field in model.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            names |= _names(type(default), f"{prefix}{name.upper()}__")
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def test_env_example_documents_every_variable() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = {
        line.lstrip("# ").split("=", 1)[0]
        for line in text.splitlines()
        if line.lstrip("# ").startswith("PUSHER_") and "=" in line
    }
    assert _names(Settings) - documented == set()
    assert documented - _names(Settings) == set()


def test_nested_variables_and_hidden_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUSHER_ALIYUN_SMS__ACCESS_KEY_SECRET", "top-secret-1")
    monkeypatch.setenv("PUSHER_TENCENT_SMS__SECRET_KEY", "top-secret-2")
    monkeypatch.setenv("PUSHER_WECHAT__APP_ID", "wx123")
    monkeypatch.setenv("PUSHER_WECOM__BASE_URL", "http://proxy.local/wecom/")
    monkeypatch.setenv("PUSHER_DATABASE_URL", "postgresql+asyncpg://u:db-password@h/db")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.wechat.app_id == "wx123"
    assert settings.wecom.base_url == "http://proxy.local/wecom/"
    assert settings.aliyun_sms.access_key_secret.get_secret_value() == "top-secret-1"
    shown = repr(settings) + str(settings)
    for secret in ("top-secret-1", "top-secret-2", "db-password"):
        assert secret not in shown
    assert settings.embedded
