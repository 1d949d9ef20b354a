"""Messages received for someone else (代收): marked with the name of the person they are for.

A follower bound as proxy for an elderly parent is the parent's WeChat address, so the
parent's message goes to the follower's WeChat like any other, once per push for each
person received for (the (push, resident) uniqueness holds). Its text says whose it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select

from pusher.db import SessionFactory
from pusher.models import Resident, WxBinding
from pusher.pipeline.bulk import one_of

MARK = "代{name}收"


async def proxy_names(db: SessionFactory, resident_ids: Sequence[int]) -> dict[int, str]:
    """The residents among ``resident_ids`` reached through a proxy, with their names."""
    if not resident_ids:
        return {}
    async with db() as session:
        rows = await session.execute(
            select(Resident.id, Resident.name)
            .join(WxBinding, WxBinding.resident_id == Resident.id)
            .where(
                one_of(session, WxBinding.__table__.c.resident_id, resident_ids),
                WxBinding.status == "bound",
                WxBinding.proxy.is_(True),
                WxBinding.openid == Resident.openid,
            )
        )
        return {int(rid): str(name) for rid, name in rows.all()}


def marked(content: Mapping[str, object], name: str, *, max_chars: int) -> dict[str, object]:
    """``content`` with its text and first ``thing`` field saying 代<name>收."""
    mark = MARK.format(name=name)
    out = dict(content)
    out["text"] = f"【{mark}】{content.get('text', '')}"
    params = dict(content.get("params") or {})
    first = next((key for key in params if str(key).startswith("thing")), None)
    if first is not None:  # a ``thing`` field takes any text (its length is bounded)
        params[first] = f"{mark}：{params[first]}"[:max_chars]
        out["params"] = params
    return out
