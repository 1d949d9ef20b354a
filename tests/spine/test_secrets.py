"""No published default secret works: production refuses weak ones, embedded mode makes its own."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from pusher.cli import main as cli
from pusher.console.session import COOKIE, FERNET, make_fernet
from pusher.runtime.worker import build_worker
from pusher.secret_keys import FILE_NAME, InsecureSettings, secure
from pusher.settings import Settings
from pusher.web.app import create_app
from tests.console.test_console import Console, console  # noqa: F401 (fixture)

PG = "postgresql+asyncpg://pusher:pw@127.0.0.1:5432/pusher"
OLD_DEFAULTS = {
    "secret_key": "change-me-in-production-0123456789abcdef",
    "callback_secret": "change-me-callback-secret",
}
STRONG = "s" * 20 + "0123456789abcdef"


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("secret_key", "callback_secret", "named"),
    [
        ("", "", ["PUSHER_SECRET_KEY", "PUSHER_CALLBACK_SECRET"]),
        (OLD_DEFAULTS["secret_key"], OLD_DEFAULTS["callback_secret"], ["PUSHER_SECRET_KEY"]),
        (STRONG, OLD_DEFAULTS["callback_secret"], ["PUSHER_CALLBACK_SECRET"]),
        ("short-but-random-7f3a", STRONG, ["PUSHER_SECRET_KEY"]),
    ],
)
def test_production_refuses_weak_secrets_and_names_the_variable(
    secret_key: str, callback_secret: str, named: list[str]
) -> None:
    settings = _settings(
        database_url=SecretStr(PG),
        secret_key=SecretStr(secret_key),
        callback_secret=SecretStr(callback_secret),
    )
    for start in (create_app, build_worker):
        with pytest.raises(InsecureSettings) as refused:
            start(settings)
        for variable in named:
            assert variable in str(refused.value)


def test_production_on_sqlite_when_the_env_says_so(tmp_path: Path) -> None:
    url = SecretStr(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    with pytest.raises(InsecureSettings):
        secure(_settings(database_url=url, env="production"))
    assert not (tmp_path / FILE_NAME).exists(), "production never generates secrets"
    strong = _settings(
        database_url=url,
        env="production",
        secret_key=SecretStr(STRONG),
        callback_secret=SecretStr(STRONG[::-1]),
    )
    assert secure(strong) is strong


def test_the_cli_says_which_variable_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("PUSHER_DATABASE_URL", PG)
    monkeypatch.setenv("PUSHER_SECRET_KEY", OLD_DEFAULTS["secret_key"])
    monkeypatch.delenv("PUSHER_CALLBACK_SECRET", raising=False)
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "PUSHER_SECRET_KEY" in err and "PUSHER_CALLBACK_SECRET" in err


def test_embedded_mode_generates_secrets_once_and_keeps_them(tmp_path: Path) -> None:
    url = SecretStr(f"sqlite+aiosqlite:///{tmp_path / 'town' / 'pusher.db'}")
    first = secure(_settings(database_url=url))
    again = secure(_settings(database_url=url))
    other = secure(_settings(database_url=SecretStr(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")))
    for field in ("secret_key", "callback_secret"):
        value = getattr(first, field).get_secret_value()
        assert len(value) >= 32 and value not in OLD_DEFAULTS.values()
        assert getattr(again, field).get_secret_value() == value, "kept across restarts"
        assert getattr(other, field).get_secret_value() != value, "each town its own"
    kept = tmp_path / "town" / FILE_NAME
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(kept.read_text())["secret_key"] == first.secret_key.get_secret_value()


def test_embedded_mode_keeps_secrets_the_operator_set(tmp_path: Path) -> None:
    url = SecretStr(f"sqlite+aiosqlite:///{tmp_path / 'pusher.db'}")
    mine = _settings(database_url=url, secret_key=SecretStr(STRONG), callback_secret=SecretStr(""))
    got = secure(mine)
    assert got.secret_key.get_secret_value() == STRONG
    assert got.callback_secret.get_secret_value() not in ("", *OLD_DEFAULTS.values())


async def test_a_cookie_forged_with_the_published_key_opens_nothing(
    console: Console,  # noqa: F811
) -> None:
    """The attack: sign an admin session offline with the key the old README published."""
    assert await console.login("admin") == 302
    real = console.client.server.app[FERNET]
    cookie = console.client.session.cookie_jar.filter_cookies(console.client.make_url("/"))
    data = json.loads(real.decrypt(cookie[COOKIE].value.encode()))
    console.client.session.cookie_jar.clear()

    async def opens_users_page(token: bytes) -> bool:
        resp = await console.client.get(
            "/users", cookies={COOKIE: token.decode()}, allow_redirects=False
        )
        return resp.status == 200

    payload = json.dumps(data).encode()
    assert await opens_users_page(real.encrypt(payload)), "control: the real key opens it"
    forged = make_fernet(OLD_DEFAULTS["secret_key"]).encrypt(payload)
    assert not await opens_users_page(forged)
