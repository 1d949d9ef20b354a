"""Reading rules files (YAML) and item files (JSON lines) for the offline tool."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from rules.model import FIELDS, URGENCIES, ItemText, RuleSpec
from rules.parser import RuleSyntaxError, check_spec, parse_rule

_LIST_KEYS = ("any", "all", "none", "fields", "domains")
_KNOWN_KEYS = frozenset({"name", "rule", "region", "urgency", *_LIST_KEYS})


class InputError(ValueError):
    """A rules or items file that cannot be used; the message says which entry and why."""


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise InputError(f"{where} must be a list of strings")
    return tuple(str(v) for v in value)


def _optional(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str | int):
        return None if value is None else str(value)
    raise InputError(f"{where} must be a string")


def spec_from_entry(entry: object, where: str) -> RuleSpec:
    """One ``groups:`` entry (mapping) as a validated :class:`RuleSpec`."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str | int):
        raise InputError(f"{where} must be a mapping with a name")
    unknown = sorted(set(map(str, entry)) - _KNOWN_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown keys {unknown}")
    name = str(entry["name"])
    if "rule" in entry:
        if not isinstance(entry["rule"], str) or set(entry) - {"name", "rule"}:
            raise InputError(f"{where} ({name}): 'rule' is a string and stands alone")
        return parse_rule(entry["rule"], group=name)
    lists: dict[str, Any] = {k: _strings(entry.get(k), f"{where}.{k}") for k in _LIST_KEYS}
    spec = RuleSpec(
        group=name,
        fields=lists.pop("fields") or FIELDS,
        region=_optional(entry.get("region"), f"{where}.region"),
        urgency=_optional(entry.get("urgency"), f"{where}.urgency"),
        **lists,
    )
    return check_spec(spec)


def load_rules(path: Path) -> list[RuleSpec]:
    """Read a rules YAML file (see the module docstring of :mod:`rules.offline`)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise InputError(f"{path}: expected a mapping with a 'groups' list")
    specs = []
    for i, entry in enumerate(data["groups"]):
        try:
            specs.append(spec_from_entry(entry, f"groups[{i}]"))
        except RuleSyntaxError as exc:
            raise InputError(f"{path}: groups[{i}]: invalid rule: {exc}") from None
    return specs


def _region_path(record: dict[str, Any], where: str) -> tuple[str, ...]:
    path = record.get("region_path")
    if path:
        if not isinstance(path, list):
            raise InputError(f"{where}: 'region_path' must be a list")
        return tuple(str(r) for r in path)
    region = record.get("region")
    if region is None or region == "":
        return ()
    if not isinstance(region, str | int):
        raise InputError(f"{where}: 'region' must be a region code")
    return (str(region),)


def item_from_record(record: object, where: str) -> ItemText:
    """One JSON object as an :class:`ItemText`; fields other than ours are ignored.

    ``region`` (one region code) stands for the region path ``(region,)`` unless a
    ``region_path`` list is given.
    """
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object")
    for key in ("id", "title", "body"):
        if not isinstance(record.get(key), str | int):
            raise InputError(f"{where}: '{key}' is missing or not a string")
    domains = record.get("domains") or []
    if not isinstance(domains, list):
        raise InputError(f"{where}: 'domains' must be a list")
    urgency = str(record.get("urgency") or "normal")
    if urgency not in URGENCIES:
        raise InputError(f"{where}: 'urgency' takes {' or '.join(URGENCIES)}")
    return ItemText(
        id=str(record["id"]),
        title=str(record["title"]),
        body=str(record["body"]),
        region_path=_region_path(record, where),
        domains=tuple(str(d) for d in domains),
        urgency=urgency,
    )


def parse_item_line(raw: bytes, where: str) -> ItemText:
    """One line of an items file as an item; :class:`InputError` says what is wrong."""
    try:
        record = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{where}: not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON ({exc.msg})") from None
    return item_from_record(record, where)


def iter_items(path: Path) -> Iterator[ItemText | InputError]:
    """Items from a JSON-lines file, or the error of each malformed line, in file order.

    Blank lines are skipped. A bad line does not stop the reading: its error (naming
    ``path:line``) is yielded in its place, for the caller to report.
    """
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                yield parse_item_line(raw, f"{path}:{number}")
            except InputError as exc:
                yield exc
