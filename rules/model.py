"""Plain data shared by the rule parser, the matcher and the domain classifier."""

from __future__ import annotations

from dataclasses import dataclass

FIELDS: tuple[str, ...] = ("title", "body")
URGENCIES: tuple[str, ...] = ("normal", "urgent")

DOMAINS: tuple[str, ...] = (
    "重大建设项目",
    "公共资源交易",
    "财政预决算",
    "安全生产",
    "税收管理",
    "征地补偿/农村集体土地征收",
    "国有土地上房屋征收与补偿",
    "农村危房改造",
    "扶贫/乡村振兴",
    "食品药品监管",
    "城乡规划",
    "生态环境",
    "公共文化服务",
    "公共法律服务",
    "救灾",
    "社会救助",
    "养老服务",
    "户籍管理",
    "涉农补贴",
    "义务教育",
    "卫生健康",
    "城市综合执法",
    "就业",
    "社会保险",
    "市政服务",
    "保障性住房",
)


@dataclass(frozen=True)
class RuleSpec:
    """One keyword rule sending matching items to a group.

    Keywords in ``any``/``all``/``none`` may carry a field prefix (``"title:养老"``) that
    overrides ``fields`` for that keyword alone.
    """

    group: str
    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    fields: tuple[str, ...] = FIELDS
    region: str | None = None
    domains: tuple[str, ...] = ()
    urgency: str | None = None


@dataclass(frozen=True)
class ItemText:
    """The text of one item as the matcher sees it.

    ``region_path`` holds region codes from the root (county) to the leaf; ``domains`` are
    the domains the publisher declared.
    """

    id: str
    title: str
    body: str
    region_path: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    urgency: str = "normal"


@dataclass(frozen=True)
class Reason:
    """Why a rule fired: one keyword found in one field.

    ``offset`` indexes the original (un-normalised) field text, where ``matched_text``
    stands: ``text[offset:offset + len(matched_text)] == matched_text``.
    """

    keyword: str
    field: str
    offset: int
    rule: str
    matched_text: str


@dataclass(frozen=True)
class GroupMatch:
    """A group an item goes to, with every reason; ``score`` weighs title hits double.

    ``rules`` lists the compact text of every rule that fired, including rules made of
    filters only (a region, say), which have no keyword reasons.
    """

    group: str
    reasons: tuple[Reason, ...]
    score: float = 0.0
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class DomainHit:
    """One of the 26 domains an item was classified into, with its score and reasons."""

    domain: str
    score: float
    reasons: tuple[Reason, ...]
