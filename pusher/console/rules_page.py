"""Keyword rules per group: edit with immediate validation, and test on sample text."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.console.base import STAFF, Viewer, audit, render, viewer
from pusher.console.item_page import describe
from pusher.db import transaction
from pusher.errors import NotFound, UserError
from pusher.models import Group, Role, Rule, utcnow
from pusher.town.rule_text import check
from pusher.web.keys import RESOURCES, SETTINGS
from pusher.web.params import parse_id
from rules import GroupMatch, ItemText, RuleSpec, compile_rules, parse_rule

KIND_NAMES = {"region": "地区", "topic": "订阅领域", "tag": "标签", "list": "名单"}


async def validate(request: web.Request) -> web.Response:
    await viewer(request, *STAFF)
    return web.json_response(check(request.query.get("text", "")))


async def rules_list(request: web.Request) -> web.Response:
    me = await viewer(request, *STAFF)
    async with request.app[RESOURCES].db() as db:
        groups = (await db.scalars(select(Group).order_by(Group.kind, Group.name))).all()
        rules = (await db.scalars(select(Rule).order_by(Rule.id))).all()
    by_group: dict[int, list[Rule]] = {}
    for rule in rules:
        by_group.setdefault(rule.group_id, []).append(rule)
    return await render(
        request, "rules.html", me, groups=groups, by_group=by_group, kinds=KIND_NAMES
    )


async def _group(db: AsyncSession, raw: str) -> tuple[Group, list[Rule]]:
    group = await db.get(Group, gid) if (gid := parse_id(raw)) else None
    if group is None:
        raise NotFound("这个推送对象不存在。")
    rules = (
        await db.scalars(select(Rule).where(Rule.group_id == group.id).order_by(Rule.id))
    ).all()
    return group, list(rules)


async def _page(request: web.Request, me: Viewer, status: int = 200, **extra: Any) -> web.Response:
    async with request.app[RESOURCES].db() as db:
        group, rules = await _group(db, request.match_info["group_id"])
    extra.setdefault("errors", {})
    extra.setdefault(
        "sample", {"title": "", "body": "", "expressions": "\n".join(r.expression for r in rules)}
    )
    return await render(
        request,
        "group.html",
        me,
        group=group,
        rules=rules,
        kinds=KIND_NAMES,
        status=status,
        **extra,
    )


async def group_page(request: web.Request) -> web.Response:
    me = await viewer(request, *STAFF)
    return await _page(request, me, saved=request.query.get("saved"))


async def group_save(request: web.Request) -> web.Response:
    """Save every rule of the group; an empty text deletes that rule."""
    me = await viewer(request, Role.PUBLISHER, Role.REVIEWER)
    form = await request.post()
    async with transaction(request.app[RESOURCES].db) as db:
        group, rules = await _group(db, request.match_info["group_id"])
        texts = {str(r.id): str(form.get(f"rule_{r.id}", r.expression)).strip() for r in rules}
        texts["new"] = str(form.get("rule_new", "")).strip()
        errors = {k: check(t)["message"] for k, t in texts.items() if t and not check(t)["ok"]}
        if errors:
            return await _page(request, me, status=422, errors=errors, texts=texts)
        changes = _apply(db, group, rules, texts)
        if changes:
            await audit(
                db, me, "rules.change", f"group:{group.id}", group=group.name, changes=changes
            )
    raise web.HTTPFound(f"/rules/{group.id}?saved=1")


def _apply(db: AsyncSession, group: Group, rules: list[Rule], texts: dict[str, str]) -> list[Any]:
    changes: list[Any] = []
    for rule in rules:
        text = texts[str(rule.id)]
        if text == rule.expression:
            continue
        changes.append({"rule": rule.id, "before": rule.expression, "after": text})
        if text:
            rule.expression, rule.updated_at = text, utcnow()
        else:
            rule.enabled = False
            rule.updated_at = utcnow()
    if texts["new"]:
        assert group.id is not None
        db.add(Rule(group_id=group.id, expression=texts["new"]))
        changes.append({"rule": None, "before": "", "after": texts["new"]})
    return changes


async def group_test(request: web.Request) -> web.Response:
    """What the given rules would match in a sample title and body, and why."""
    me = await viewer(request, *STAFF)
    form = await request.post()
    sample = {k: str(form.get(k, "")) for k in ("title", "body", "expressions")}
    lines = [line.strip() for line in sample["expressions"].splitlines() if line.strip()]
    _bound(request, sample, lines)
    problems = {line: check(line)["message"] for line in lines if not check(line)["ok"]}
    results: list[str] = []
    if not problems:
        results = await _run(request, lines, sample)
    return await _page(request, me, sample=sample, results=results, tested=True, problems=problems)


#: At most this many rules are tested at once (each is parsed on the request's loop).
MAX_TEST_RULES = 200
MAX_TEST_TITLE = 200
MAX_RULE_CHARS = 2000  # as Rule.expression


def _bound(request: web.Request, sample: dict[str, str], lines: list[str]) -> None:
    """Refuse a sample larger than an item may be, or more rules than a page tests."""
    if len(lines) > MAX_TEST_RULES:
        raise UserError(f"一次最多试 {MAX_TEST_RULES} 条规则。")
    if any(len(line) > MAX_RULE_CHARS for line in lines):
        raise UserError(f"每条规则最多 {MAX_RULE_CHARS} 字。")
    if len(sample["title"]) > MAX_TEST_TITLE:
        raise UserError(f"标题最多 {MAX_TEST_TITLE} 字。")
    if len(sample["body"]) > request.app[SETTINGS].max_body_chars:
        raise UserError(f"正文最多 {request.app[SETTINGS].max_body_chars} 字。")


async def _run(request: web.Request, lines: list[str], sample: dict[str, str]) -> list[str]:
    resources = request.app[RESOURCES]
    async with resources.db() as db:
        group, _ = await _group(db, request.match_info["group_id"])
        await resources.rulebook.current(db)
    specs = [parse_rule(line, group=str(group.id)) for line in lines]
    text = ItemText(id="sample", title=sample["title"], body=sample["body"])
    tokenizer = resources.rulebook.tokenizer
    found = await asyncio.to_thread(_match_sample, specs, text, tokenizer)
    return [
        describe(group.name, {"kind": "rule", **asdict(reason)})
        for match in found
        for reason in match.reasons
    ] or [f"匹配「{group.name}」（规则中的条件满足）" for _ in found]


def _match_sample(specs: list[RuleSpec], text: ItemText, tokenizer: Any) -> list[GroupMatch]:
    """Compile the rules under test and match the sample: jieba's work, for a thread."""
    return compile_rules(specs, tokenizer=tokenizer).match(text)
