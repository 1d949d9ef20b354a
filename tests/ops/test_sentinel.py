"""Redis Sentinel: arq is given the Sentinels and the master name from settings."""

from __future__ import annotations

from pydantic import SecretStr

from pusher.runtime.resources import redis_settings
from pusher.settings import Settings


def test_sentinels_from_settings_reach_arq() -> None:
    settings = Settings(
        redis_url=SecretStr("redis://:pw@ignored:6379/3"),
        redis_sentinels=["10.0.0.1:26379", "sentinel-b"],
        redis_sentinel_master="pusher-master",
        _env_file=None,  # type: ignore[call-arg]
    )
    arq = redis_settings(settings)
    assert arq.sentinel is True
    assert arq.host == [("10.0.0.1", 26379), ("sentinel-b", 26379)]
    assert arq.sentinel_master == "pusher-master"
    assert arq.database == 3 and arq.password == "pw"
