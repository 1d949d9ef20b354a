"""Configuration from the environment (prefix ``PUSHER_``, nested with ``__``) and ``.env``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from channels import registry
from channels.aliyun_sms import AliyunSmsSettings
from channels.base import ChannelKind
from channels.cmpp.channel import CmppSettings
from channels.tencent_sms import TencentSmsSettings
from channels.wechat import WeChatSettings
from channels.wecom import WeComSettings
from channels.wecom_groupmsg import WeComAppSettings


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
    #: Residents planned per transaction. Each chunk costs a few statements and a
    #: commit whatever its size; 50,000 rows take about 0.05 s on SQLite, which is
    #: how long dispatch waits for the first chunk and a planner holds the write lock.
    plan_chunk: int = Field(50_000, ge=10)
    #: Residents per claim range: workers claim fresh rows from different ranges at
    #: once (PostgreSQL), so a chunk is split into ranges of this many resident ids.
    claim_range: int = Field(2_000, ge=1)
    #: Batches one dispatch job keeps in flight: the next batch is claimed and sent
    #: while the previous one's outcomes are written (PostgreSQL; SQLite always 1).
    batches_in_flight: int = Field(2, ge=1, le=16)
    #: Seconds a dispatch job claims new batches before it ends and enqueues its
    #: successor: well under arq's 600 s job_timeout, which would cancel it mid-batch.
    pass_seconds: float = Field(240, ge=0, le=500)
    sms_max_segments: int = Field(1, ge=1, le=7)
    sms_max_segments_urgent: int = Field(3, ge=1, le=7)
    sms_signature: str = "政务公开"
    #: The WeChat template's fields, key → type (thing, time, phrase, …; see
    #: pusher.summary.wechat): each is filled within its type's rule, or the push goes
    #: as the text fallback (PUSHER_WECHAT__TEXT_TEMPLATE_ID).
    wechat_template_fields: dict[str, str] = Field(
        default_factory=lambda: {"thing1": "thing", "time2": "time", "thing3": "thing"}
    )


class WxSettings(BaseModel):
    """Residents' side of the official account: OAuth, codes, the menu, urgent words."""

    #: where residents' browsers are sent to learn their openid (snsapi_base)
    oauth_url: str = "https://open.weixin.qq.com/connect/oauth2/authorize"
    code_ttl_seconds: int = Field(300, ge=60, le=3600)
    code_tries: int = Field(5, ge=1, le=20)
    #: codes per phone number (and per client address) an hour; one a minute at most
    codes_per_hour: int = Field(5, ge=1, le=100)
    codes_per_address_hour: int = Field(10, ge=1, le=1000)
    #: hours after a resident's last message in which WeChat takes customer-service replies
    reply_window_hours: int = Field(48, ge=1, le=48)
    #: a reply links back to the push sent to them within this many days
    answers_push_days: int = Field(7, ge=0, le=90)
    urgent_words: list[str] = Field(
        default_factory=lambda: ["求助", "救命", "被困", "着火", "失火", "溺水", "晕倒", "报警"]
    )
    #: the account's menu: (name, path under public_url)
    menu: list[tuple[str, str]] = Field(
        default_factory=lambda: [
            ("最新通知", "/wx/notices"),
            ("我的订阅", "/wx/"),
            ("绑定/代收", "/wx/bind"),
            ("联系网格员", "/wx/contact"),
        ]
    )


#: the event loops ``pusher.runtime.event_loop`` makes
LoopChoice = Literal["uvloop", "asyncio"]


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
    redis_sentinels: list[str] = Field(default_factory=list)
    redis_sentinel_master: str = "mymaster"
    queue_name: str = "pusher:queue"
    #: ``production`` refuses weak secrets even on SQLite (a PostgreSQL URL always does).
    env: Literal["", "development", "production"] = ""
    public_url: str = "http://127.0.0.1:8080"
    #: Keys console sessions. Empty: embedded mode generates one (see ``pusher.secret_keys``).
    secret_key: SecretStr = SecretStr("")
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_chars: int = Field(50_000, ge=100)
    db_pool_size: int = Field(10, ge=1)
    db_max_overflow: int = Field(10, ge=0)
    jieba_cache_dir: Path = Path("./var/cache")
    #: Secret path segment of the SMS callback URLs; empty: generated in embedded mode.
    callback_secret: SecretStr = SecretStr("")
    #: WeChat callbacks older or newer than this many seconds are refused (replays).
    callback_max_age_seconds: int = Field(300, ge=30, le=3600)
    log_json: bool = False
    #: the event loop of serve, worker and the emulators (``pusher.runtime.event_loop``)
    event_loop: LoopChoice = "uvloop"
    #: ``pusher worker`` lowers its OS priority by this much (nice), so that on a machine
    #: shared with ``pusher serve`` the callbacks and the console come first in a push
    worker_nice: int = Field(0, ge=0, le=19)
    log_level: str = "INFO"
    metrics_host: str = "0.0.0.0"
    metrics_port: int = Field(0, ge=0, le=65535)
    delivery_retention_days: int = Field(400, ge=0)
    sandbox_retention_days: int = Field(30, ge=0)
    #: a receipt for a message id we have not recorded is parked this long (a real one
    #: comes within minutes to a day of its send), and at most this many per provider
    parked_receipt_hours: int = Field(48, ge=1)
    parked_receipt_cap: int = Field(20_000, ge=0)
    #: daily short-link open counts are kept this long (days; 0: keep)
    link_open_retention_days: int = Field(400, ge=0)
    #: short-link opens counted per client address per minute (the redirect always works)
    link_open_rate: int = Field(20, ge=0)
    #: proxies whose X-Forwarded-For is believed (IPs or CIDRs, JSON list); empty: none
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    #: console cookie ``Secure`` flag; unset: on when ``public_url`` is https
    cookie_secure: bool | None = None
    #: Hosts county sources may be read from (empty: any). Redirects elsewhere are refused.
    source_hosts: list[str] = Field(default_factory=list)
    #: local rest days and make-up working days (JSON lists of dates, e.g. ["2026-11-02"])
    #: added to the national holiday calendar when disclosure deadlines are counted
    #: 同意短信 for a roster row that leaves the column empty (the town's own rule)
    roster_sms_consent: bool = False
    #: CJK TrueType font (.ttf or .ttc) for the review form's PDF; unset: the first of
    #: pusher.reports.review_pdf.CANDIDATES found on the machine (fonts-wqy-microhei)
    pdf_font: Path | None = None
    local_holidays: list[date] = Field(default_factory=list)
    local_workdays: list[date] = Field(default_factory=list)
    #: minutes after a customer-group mass message was created when an owner who has not
    #: confirmed it is reminded (urgent items: the second), and hours until it is given up
    group_owner_remind_minutes: int = Field(30, ge=1, le=1440)
    group_owner_remind_minutes_urgent: int = Field(10, ge=1, le=1440)
    group_owner_cutoff_hours: int = Field(24, ge=1, le=720)
    #: seconds a run that started creating a mass-message task is given before another
    #: run takes it over (looking it up at WeCom first, so it is never made twice)
    group_task_lease_seconds: int = Field(120, ge=5, le=3600)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    #: an urgent notice not relayed to an ordinary WeChat group this many minutes after
    #: planning escalates to the village's other keepers and the office
    relay_urgent_minutes: int = Field(10, ge=1, le=1440)
    #: a normal one escalates at this hour (Asia/Shanghai) of the day it was planned
    #: (planned after it: the next day's), once
    relay_day_end_hour: int = Field(18, ge=1, le=23)
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)
    wechat: WeChatSettings = Field(default_factory=WeChatSettings)
    wx: WxSettings = Field(default_factory=WxSettings)
    wecom: WeComSettings = Field(default_factory=WeComSettings)
    wecom_enabled: bool = False
    #: the app with 客户联系 permission: customer-group mass messages (owners confirm)
    wecom_app: WeComAppSettings = Field(default_factory=WeComAppSettings)
    aliyun_sms: AliyunSmsSettings = Field(default_factory=AliyunSmsSettings)
    tencent_sms: TencentSmsSettings = Field(default_factory=TencentSmsSettings)
    cmpp: CmppSettings = Field(default_factory=CmppSettings)
    # One section above per provider of the registry (channels.registry.PROVIDERS, whose
    # descriptors name the field and its class; tests/channels/test_registry.py checks it).
    #: The SMS provider tried first; the others follow in registry order.
    sms_provider: str = "aliyun"

    @field_validator("pdf_font", mode="before")
    @classmethod
    def _empty_font_is_unset(cls, value: object) -> object:
        """``PUSHER_PDF_FONT=`` (as in .env.example) means "find one", not the directory."""
        return None if value == "" else value

    @field_validator("sms_provider")
    @classmethod
    def _known_sms_provider(cls, value: str) -> str:
        known = registry.names(ChannelKind.SMS)
        if value not in known:
            raise ValueError(f"unknown SMS provider {value!r}; one of {', '.join(known)}")
        return value

    @property
    def sms_signature(self) -> str:
        """The 【signature】 the SMS provider in use adds (it counts toward the length)."""
        for provider in registry.order(ChannelKind.SMS, self.sms_provider):
            if provider.enabled(self):
                sign = getattr(getattr(self, provider.section or ""), "sign_name", "")
                if sign:
                    return str(sign)
        return self.dispatch.sms_signature

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: work runs inside the web process."""
        return self.redis_url is None
