"""``pusher demo --check``: what was recorded for each sample against what was meant.

A sample is right when every resident it was meant for (:mod:`pusher.demo.expected`)
has exactly one delivery row and nobody else has one, each row is in the state
its address implies (sent or delivered; waiting while the quiet hours hold a
normal item; unreachable when no channel reaches the resident), and the sandbox
kept exactly one message for each reachable address (none while held), the
village group chats included.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.demo.expected import Expected
from pusher.models import Delivery, Push, SandboxMessage

SENT = ("sent", "delivered")


@dataclass
class Recorded:
    """The delivery rows of one item's push and the sandbox messages sent for them."""

    statuses: dict[int, str] = field(default_factory=dict)  # resident id → status
    rows: int = 0  # resident rows, to see a resident twice
    chats: dict[str, str] = field(default_factory=dict)  # robot key → status
    kept: Counter[str] = field(default_factory=Counter)  # address → sandbox messages

    def count(self, *statuses: str) -> int:
        """Residents' rows in one of ``statuses`` (group chats: :meth:`chats_in`)."""
        return sum(1 for s in self.statuses.values() if s in statuses)

    def chats_in(self, *statuses: str) -> int:
        """Group chats' rows in one of ``statuses``."""
        return sum(1 for s in self.chats.values() if s in statuses)


async def recorded(session: AsyncSession, item_id: int) -> Recorded:
    """Read what the pipeline recorded for ``item_id``."""
    rows = (
        await session.execute(
            select(Delivery.id, Delivery.resident_id, Delivery.recipient, Delivery.status)
            .join(Push, Push.id == Delivery.push_id)
            .where(Push.item_id == item_id)
        )
    ).all()
    out = Recorded()
    for _, resident_id, recipient, status in rows:
        if resident_id is not None:
            out.statuses[resident_id] = status
            out.rows += 1
        else:
            out.chats[recipient or ""] = status
    keys = [str(delivery_id) for delivery_id, *_ in rows]
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        kept = await session.scalars(
            select(SandboxMessage.recipient).where(SandboxMessage.key.in_(batch))
        )
        out.kept.update(kept)
    return out


def problems(expected: Expected, got: Recorded, *, held: bool) -> list[str]:
    """What is wrong with ``got`` (empty when right); ``held``: quiet hours hold the item."""
    found: list[str] = []
    missing = expected.residents.keys() - got.statuses.keys()
    extra = got.statuses.keys() - expected.residents.keys()
    if missing or extra:
        found.append(f"缺 {len(missing)} 人、多 {len(extra)} 人")
    if got.rows != len(got.statuses):
        found.append(f"{got.rows - len(got.statuses)} 人记录重复")
    if set(got.chats) != expected.chats:
        found.append(f"群聊应为 {len(expected.chats)} 个，记录 {len(got.chats)} 个")
    wrong = sum(1 for rid, s in got.statuses.items() if s not in _allowed(expected, rid, held))
    wrong += sum(1 for s in got.chats.values() if s not in _allowed(expected, None, held))
    if wrong:
        found.append(f"{wrong} 条状态不对")
    meant: Counter[str] = Counter() if held else Counter(expected.addresses)
    if got.kept != meant:
        lost, twice = sum((meant - got.kept).values()), sum((got.kept - meant).values())
        found.append(f"沙盒收件少 {lost} 条、多 {twice} 条")
    return found


def _allowed(expected: Expected, resident_id: int | None, held: bool) -> tuple[str, ...]:
    """States a row may be in: a resident without an address is unreachable."""
    if resident_id is not None and expected.residents.get(resident_id) is None:
        return ("unreachable",)
    return ("queued",) if held else SENT
