"""Administrative codes (统计用区划代码) and the level each one names.

The statistics bureau's code has 12 digits: 6 for the county, 3 for the town, 3 for the
village (a county is ``XXXXXX000000``, a town ``XXXXXXXXX000``). The short forms (6 digits
for a county, 9 for a town) are accepted too. Grids have no national code: theirs is the
village's code followed by 2 or 3 digits.
"""

from __future__ import annotations

from pusher.errors import InvalidInput
from pusher.models import RegionKind

#: the kind a region under a parent of this kind must have
CHILD_KIND = {
    RegionKind.COUNTY: RegionKind.TOWN,
    RegionKind.TOWN: RegionKind.VILLAGE,
    RegionKind.VILLAGE: RegionKind.GRID,
}
#: digits of the parent's code a child's code starts with
_PREFIX = {RegionKind.COUNTY: 6, RegionKind.TOWN: 9}
KIND_NAMES = {
    RegionKind.COUNTY: "县（区）",
    RegionKind.TOWN: "乡镇（街道）",
    RegionKind.VILLAGE: "村（社区）",
    RegionKind.GRID: "网格",
}


def kind_of_code(code: str) -> RegionKind:
    """The level ``code`` names; raises InvalidInput when it is not a code."""
    if not code.isascii() or not code.isdigit():
        raise InvalidInput(f"区划代码「{code[:20]}」应全部为数字。", field="code")
    n = len(code)
    if n == 6 or (n == 12 and code.endswith("000000")):
        return RegionKind.COUNTY
    if n == 9 or (n == 12 and code.endswith("000")):
        return RegionKind.TOWN
    if n == 12:
        return RegionKind.VILLAGE
    if n in (14, 15):
        return RegionKind.GRID
    raise InvalidInput(
        f"区划代码「{code[:20]}」位数不对：县、乡镇、村为 12 位统计用区划代码，"
        "网格为所属村代码后加 2～3 位。",
        field="code",
    )


def check_under(
    code: str, kind: RegionKind, parent_code: str | None, parent_kind: str | None
) -> None:
    """Raise InvalidInput unless a region of ``kind`` with ``code`` may sit under the parent."""
    if parent_kind is None:
        if kind == RegionKind.GRID or kind == RegionKind.VILLAGE:
            raise InvalidInput(f"{KIND_NAMES[kind]}「{code}」必须有上级区划。", field="parent_code")
        return
    expected = CHILD_KIND.get(RegionKind(parent_kind))
    if expected != kind:
        raise InvalidInput(
            f"「{code}」是{KIND_NAMES[kind]}代码，不能放在{KIND_NAMES[RegionKind(parent_kind)]}"
            f"「{parent_code}」之下。",
            field="parent_code",
        )
    assert parent_code is not None
    prefix = parent_code[: _PREFIX.get(RegionKind(parent_kind), len(parent_code))]
    if not code.startswith(prefix):
        raise InvalidInput(
            f"代码「{code}」不在上级「{parent_code}」之下（应以 {prefix} 开头）。",
            field="code",
        )


def next_grid_code(village_code: str, taken: set[str]) -> str:
    """The first free grid code under a village: its code + 01, 02, …"""
    for n in range(1, 100):
        code = f"{village_code}{n:02d}"
        if code not in taken:
            return code
    raise InvalidInput("这个村的网格已达 99 个，请手工填写网格代码。", field="code")
