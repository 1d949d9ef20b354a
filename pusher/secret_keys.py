"""The deployment's own secrets: refused when weak in production, generated in embedded mode.

Two secrets guard the service: ``PUSHER_SECRET_KEY`` keys the console's session
cookies (whoever knows it can forge an admin's session) and
``PUSHER_CALLBACK_SECRET`` is the secret path segment of the SMS providers' receipt
and reply URLs (whoever knows it can opt residents out). A value published in this
repository (the old defaults, the ``.env.example`` placeholders) is no secret.

- Production mode (a PostgreSQL database URL, or ``PUSHER_ENV=production``):
  :func:`secure` raises :class:`InsecureSettings` naming every variable to set when a
  secret is empty, shorter than :data:`MIN_LENGTH` or a published value.
- Embedded mode: a secret left unset is generated once, at random, and kept in
  ``secrets.json`` beside the SQLite file (mode 0600), so sessions and callback
  URLs survive a restart. An in-memory database gets fresh secrets per process.
"""

from __future__ import annotations

import json
import os
import secrets as random
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from pusher.settings import Settings

MIN_LENGTH = 32
FILE_NAME = "secrets.json"
#: Values that were ever published as defaults or examples: never accepted.
PUBLISHED = frozenset(
    {
        "change-me-in-production-0123456789abcdef",
        "change-me-callback-secret",
        "change-me",
        "CHANGE-ME",
    }
)
VARIABLES = {"secret_key": "PUSHER_SECRET_KEY", "callback_secret": "PUSHER_CALLBACK_SECRET"}


class InsecureSettings(Exception):
    """Production settings whose secrets are missing, short or published."""


def is_production(settings: Settings) -> bool:
    """A PostgreSQL database or ``PUSHER_ENV=production`` means production mode."""
    url = make_url(settings.database_url.get_secret_value())
    return settings.env == "production" or url.get_backend_name() == "postgresql"


def weak(value: str) -> str | None:
    """Why ``value`` is not a secret, or None when it will do."""
    if not value:
        return "未设置"
    if value in PUBLISHED or value.lower().startswith("change-me"):
        return "是公开的示例值"
    if len(value) < MIN_LENGTH:
        return f"太短（{len(value)} 个字符，至少 {MIN_LENGTH} 个）"
    return None


def secure(settings: Settings) -> Settings:
    """``settings`` with usable secrets, or :class:`InsecureSettings` in production."""
    problems = {
        field: why
        for field in VARIABLES
        if (why := weak(getattr(settings, field).get_secret_value())) is not None
    }
    if not problems:
        return settings
    if is_production(settings):
        lines = [f"{VARIABLES[field]} {why}" for field, why in problems.items()]
        raise InsecureSettings(
            "生产模式拒绝启动：" + "；".join(lines) + "。请设置为至少 32 个字符的随机值"
            "（例如 python -c 'import secrets; print(secrets.token_urlsafe(32))'）。"
        )
    kept = _kept_secrets(settings, list(problems))
    return settings.model_copy(update={field: SecretStr(kept[field]) for field in problems})


def data_folder(settings: Settings) -> Path | None:
    """The folder of the embedded SQLite file, or None for an in-memory database."""
    url = make_url(settings.database_url.get_secret_value())
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).parent


def _kept_secrets(settings: Settings, fields: list[str]) -> dict[str, str]:
    folder = data_folder(settings)
    if folder is None:
        return {field: random.token_urlsafe(MIN_LENGTH) for field in fields}
    path = folder / FILE_NAME
    kept = _read(path)
    missing = [field for field in fields if weak(kept.get(field, "")) is not None]
    if missing:
        kept.update({field: random.token_urlsafe(MIN_LENGTH) for field in missing})
        _write(path, kept)
    return kept


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise InsecureSettings(f"无法读取 {path}：{exc}；删除该文件后将重新生成密钥") from exc
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write(path: Path, kept: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(kept, handle)
    os.replace(temporary, path)
