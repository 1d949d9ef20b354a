"""Configuration from the environment (prefix ``PUSHER_``, nested with ``__``) and ``.env``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class QuietHours(BaseModel):
    """Hours (Asia/Shanghai) when normal items wait for the morning."""

    start: int = Field(21, ge=0, le=23)
    end: int = Field(8, ge=0, le=23)
    timezone: str = "Asia/Shanghai"


class DispatchSettings(BaseModel):
    """How deliveries are claimed, retried and batched."""

    lease_seconds: int = Field(120, ge=5)
    retry_delays: list[int] = Field(default_factory=lambda: [30, 120, 600, 1800])
    retry_jitter: float = Field(0.2, ge=0, le=1)
    plan_chunk: int = Field(5000, ge=10)
    sms_max_segments: int = Field(1, ge=1, le=7)
    sms_max_segments_urgent: int = Field(3, ge=1, le=7)
    sms_signature: str = "政务公开"


class Settings(BaseSettings):
    """Everything a process needs; built once in ``main`` and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="PUSHER_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    database_url: SecretStr = SecretStr("sqlite+aiosqlite:///./var/pusher.db")
    redis_url: SecretStr | None = None
    queue_name: str = "pusher:queue"
    public_url: str = "http://127.0.0.1:8080"
    secret_key: SecretStr = SecretStr("change-me-in-production-0123456789abcdef")
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_chars: int = Field(50_000, ge=100)
    db_pool_size: int = Field(10, ge=1)
    db_max_overflow: int = Field(10, ge=0)
    jieba_cache_dir: Path = Path("./var/cache")
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: work runs inside the web process."""
        return self.redis_url is None
