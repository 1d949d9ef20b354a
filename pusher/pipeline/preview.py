"""Preview of a push before anyone approves it: texts, audience by channel, SMS cost.

Nothing is written: matching runs as in the pipeline but its result is only
counted, and the audience is the same SQL planning uses, grouped by channel.
The console shows it on every GET of a draft's page, so its jieba work (matching,
summarising) runs in threads, as the pipeline's does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Channel, ChannelKind
from pusher.models import Item, Resident, Urgency
from pusher.pipeline.match import find_matches
from pusher.pipeline.rulebook import Rulebook
from pusher.pipeline.texts import sms_registry, texts_for
from pusher.settings import Settings
from subscriptions.audience import group_chats, load_audience, residents_chunk


class Resources(Protocol):
    """What a preview reads from the process's resources (the runtime's Resources fit)."""

    @property
    def rulebook(self) -> Rulebook: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def channels(self) -> Mapping[ChannelKind, Channel]: ...


async def preview(session: AsyncSession, item: Item, *, resources: Resources) -> dict[str, Any]:
    """Each channel's exact text and length, the audience per channel, estimated segments."""
    matcher = await resources.rulebook.current(session)
    tokenizer, classifier = resources.rulebook.tokenizer, resources.rulebook.classifier
    assert classifier is not None  # built by current()
    domains, reasons = await find_matches(session, item, matcher=matcher, classifier=classifier)
    item.domains = domains  # only for the audience's topic opt-outs; the session is not committed
    settings = resources.settings
    d = settings.dispatch
    urgent = item.urgency == Urgency.URGENT
    texts = await asyncio.to_thread(  # summarising a long notice runs jieba over it
        texts_for,
        item,
        tokenizer=tokenizer,
        public_url=settings.public_url,
        signature=settings.sms_signature,
        max_segments=d.sms_max_segments_urgent if urgent else d.sms_max_segments,
        wechat_fields=d.wechat_template_fields,
        sms_templates=sms_registry(resources.channels),
    )
    consent = settings.wechat.mode == "subscribe"
    audience = await load_audience(session, item, list(reasons), wechat_consent=consent)
    per_channel: dict[str, int] = {}
    chats = 0
    if not audience.empty:
        last = await session.scalar(select(func.max(Resident.id))) or 0
        rows = residents_chunk(audience, after_id=0, upto_id=last).subquery()
        counted = await session.execute(
            select(rows.c.channel, func.count()).group_by(rows.c.channel)
        )
        per_channel = {str(channel): int(n) for channel, n in counted}
        chats = int(
            await session.scalar(select(func.count()).select_from(group_chats(audience).subquery()))
            or 0
        )
    sms = texts["sms"]
    return {
        "item_id": item.id,
        "domains": domains,
        "groups": [{"group_id": g, "reasons": r} for g, r in sorted(reasons.items())],
        "texts": {
            "sms": sms_preview(sms),
            "wechat": {"fields": texts["wechat"]["params"], "url": texts["link"]},
            "wecom": {
                "markdown": texts["wecom"]["text"],
                "bytes": len(texts["wecom"]["text"].encode()),
            },
        },
        "audience": {
            "residents": sum(per_channel.values()),
            "wechat": per_channel.get("wechat", 0),
            "sms": per_channel.get("sms", 0),
            "unreachable": per_channel.get("none", 0),
            "group_chats": chats,
        },
        "sms_segments_per_resident": sms["segments"],
        "sms_segments_total": sms["segments"] * per_channel.get("sms", 0),
    }


def sms_preview(sms: Mapping[str, Any]) -> dict[str, Any]:
    """The SMS as the resident reads it; for a template account also the template, each
    variable's length against its limit, and why none fits (the review page's flag)."""
    out = {"text": sms["text"], "chars": len(sms["text"]), "segments": sms["segments"]}
    for key in ("provider", "purpose", "template", "variables", "error_code", "reason"):
        if key in sms:
            out[key] = sms[key]
    return out
