"""One item: its fields, review history and forms, matched groups with reasons, progress."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.console.base import STAFF, audit, render, viewer
from pusher.console.due import deadline_text
from pusher.console.item_groups import as_template, group_section
from pusher.console.items import STATUS_NAMES, load_item
from pusher.db import transaction
from pusher.errors import UserError
from pusher.models import (
    Delivery,
    DeliveryStatus,
    Group,
    Item,
    ItemMatch,
    Push,
    Region,
    Review,
    Role,
    Urgency,
)
from pusher.pipeline import domain_review, review
from pusher.pipeline.correct import review_diff
from pusher.pipeline.dispatch import quiet_until
from pusher.pipeline.preview import preview
from pusher.reports.clock import calendar_for, item_clock
from pusher.reports.period import today_local
from pusher.settings import QuietHours
from pusher.staff.notify import nudge
from pusher.web.keys import RESOURCES
from rules import DomainClassifier

FIELD_NAMES = {"title": "标题", "body": "正文"}
STEP_NAMES = {
    "submit": "提交审查",
    "staff": "经办人/保密审查",
    "leader": "领导审批",
    "urgent": "紧急一步审批",
}
DECISION_NAMES = {"submit": "已提交", "approve": "同意", "reject": "退回"}
DELIVERY_NAMES = {
    DeliveryStatus.QUEUED: "排队中",
    DeliveryStatus.SENDING: "发送中",
    DeliveryStatus.SENT: "已发出",
    DeliveryStatus.DELIVERED: "已送达",
    DeliveryStatus.FAILED: "失败",
    DeliveryStatus.UNREACHABLE: "无法联系",
    DeliveryStatus.CONFIRMED: "已当面告知",
    DeliveryStatus.CANCELLED: "已取消",
    DeliveryStatus.WAITING: "待转发或群主确认",  # a group row waiting for a person
}
PENDING = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
#: 发布形式 on the review form: the channels pusher sends on, and the office's own
PUBLISH_FORMS = tuple(f.value for f in review.PublishForm)
DEFAULT_FORMS = ("村(居)民微信群", "短信")


def publish_forms(values: list[str]) -> str:
    """The chosen 发布形式 in the list's order, joined by 、 (a value may itself hold
    several joined by 、); one outside :data:`PUBLISH_FORMS` is refused (422)."""
    parts = {p.strip() for v in values for p in v.split("、") if p.strip()}
    unknown = sorted(parts - set(PUBLISH_FORMS))
    if unknown:
        raise UserError(
            f"发布形式「{'、'.join(unknown)[:60]}」不在可选范围内，请从"
            f"{'、'.join(PUBLISH_FORMS)}中选择。",
            field="publish_form",
        )
    return review.join_forms(list(parts))


def chosen_forms(reviews: list[Review], item: Item) -> set[str]:
    """The forms to tick: the last step's choice, else the usual pair for the leader."""
    for r in reversed(reviews):
        if r.publish_form:
            return set(r.publish_form.split("、"))
    return set(DEFAULT_FORMS) if item.status == "checked" else set()


def describe(group: str, reason: dict[str, Any]) -> str:
    """One reason in plain words, e.g. 匹配「标签：老年人」：标题中出现「高龄津贴」."""
    kind = reason.get("kind")
    if kind == "rule":
        where = FIELD_NAMES.get(str(reason.get("field")), "正文")
        return f"匹配「{group}」：{where}中出现「{reason.get('matched_text')}」"
    if kind == "domain":
        how = "自动归类" if reason.get("source") == "classified" else "发布时选择"
        return f"匹配「{group}」：属于领域「{reason.get('domain')}」（{how}）"
    if kind == "region":
        return f"匹配「{group}」：信息涉及「{reason.get('region')}」"
    return f"匹配「{group}」"


def held_note(item: Item, queued: int, quiet: QuietHours, now: datetime) -> str:
    """Why a normal item's messages wait, in the quiet hours; empty otherwise."""
    morning = quiet_until(now, quiet)
    if morning is None or not queued or item.urgency == Urgency.URGENT:
        return ""
    when = f"{morning.month}月{morning.day}日 {morning:%H:%M}"
    return f"免打扰时段（{quiet.start:02d}:00–{quiet.end:02d}:00）：{queued} 条将于 {when} 发送"


async def progress(db: AsyncSession, item: Item, quiet: QuietHours) -> dict[str, Any]:
    """The push of an item: planned count and deliveries by status (for the progress
    bar), and why the queued ones wait when the quiet hours hold them."""
    push = await db.scalar(select(Push).where(Push.item_id == item.id))
    if push is None:
        empty = {"total": 0, "done": 0, "percent": 0, "settled": False, "counts": {}}
        return {"push_id": None, "held": ""} | empty
    rows = await db.execute(
        select(Delivery.status, func.count())
        .where(Delivery.push_id == push.id)
        .group_by(Delivery.status)
    )
    counts = {str(status): int(n) for status, n in rows}
    total = max(sum(counts.values()), push.planned)
    done = sum(n for s, n in counts.items() if s not in PENDING)
    # while planning, rows are still being written: 0 of 0 is a start, not an end
    settled = push.status != "planning" and done >= total
    return {
        "push_id": push.id,
        "status": push.status,
        "total": total,
        "done": done,
        "percent": round(100 * done / total) if total else (100 if settled else 0),
        "settled": settled,
        "counts": {DELIVERY_NAMES[DeliveryStatus(s)]: n for s, n in sorted(counts.items())},
        "held": held_note(
            item, counts.get(DeliveryStatus.QUEUED.value, 0), quiet, datetime.now(UTC)
        ),
    }


async def item_page(request: web.Request) -> web.Response:
    me = await viewer(request, *STAFF)
    async with request.app[RESOURCES].db() as db:
        item = await load_item(db, request.match_info["item_id"])
        region = await db.get(Region, item.region_id)
        reviews = (
            await db.scalars(select(Review).where(Review.item_id == item.id).order_by(Review.id))
        ).all()
        matches = await db.execute(
            select(Group.name, ItemMatch.reasons)
            .join(Group, Group.id == ItemMatch.group_id)
            .where(ItemMatch.item_id == item.id)
            .order_by(Group.name)
        )
        matched = [
            (name, list(dict.fromkeys(describe(name, r) for r in reasons)))
            for name, reasons in matches
        ]
        push = await db.scalar(select(Push).where(Push.item_id == item.id))
        state = await progress(db, item, request.app[RESOURCES].settings.quiet_hours)
        marker = await review.urgent_marker(db, item)
        correction = await review_diff(db, item)
        settings = request.app[RESOURCES].settings
        clock = await item_clock(db, calendar_for(settings), item.id, today=today_local())
        classifier = await _classifier(request, db)
        options = await domain_review.known_domains(db)
        groups = (
            await group_section(db, item_id=int(item.id or 0), push_id=push.id, scope=me.scope)
            if push is not None and push.id is not None
            else []
        )
    domain = domain_review.explain(item, await domain_review.suggest(item, classifier=classifier))
    shown = None
    if push is None and item.disclosure == "主动公开":
        resources = request.app[RESOURCES]
        async with resources.db() as scratch:  # a preview writes nothing: its session is dropped
            shown = await preview(
                scratch, await scratch.get_one(Item, item.id), resources=resources
            )
    return await render(
        request,
        "item.html",
        me,
        item=item,
        region=region,
        reviews=reviews,
        urgent_marker=marker,
        matched=matched,
        push=push,
        preview=shown,
        progress=state,
        names=STATUS_NAMES,
        steps=STEP_NAMES,
        decisions=DECISION_NAMES,
        forms=PUBLISH_FORMS,
        chosen=chosen_forms(list(reviews), item),
        deadline=deadline_text(clock) if clock else "",
        error=request.query.get("error", ""),
        correction=correction,
        domain=domain,
        domain_options=options,
        groups=as_template(groups),
    )


async def _classifier(request: web.Request, db: AsyncSession) -> DomainClassifier:
    rulebook = request.app[RESOURCES].rulebook
    await rulebook.current(db)  # builds tokenizer and classifier on first use (in threads)
    assert rulebook.classifier is not None
    return rulebook.classifier


async def item_review(request: web.Request) -> web.Response:
    me = await viewer(request, Role.REVIEWER, Role.LEADER)
    form = await request.post()
    resources = request.app[RESOURCES]
    try:
        step = review.Step(str(form.get("step", "")))
        decision = review.Decision(str(form.get("decision", "")))
    except ValueError:
        raise UserError("请选择审查步骤和结论。") from None
    opinion = str(form.get("opinion", "")).strip()
    forms = publish_forms([str(v) for v in form.getall("publish_form", [])])
    try:
        async with transaction(resources.db) as db:
            item = await load_item(db, request.match_info["item_id"])
            choice = str(form.get("domain", "")).strip()
            if choice and decision is review.Decision.APPROVE:
                # in the step's transaction: a refused step rolls the choice back too
                suggestion = await domain_review.suggest(
                    item, classifier=await _classifier(request, db)
                )
                await domain_review.choose(
                    db, item, choice=choice[:64], actor=me.name, suggestion=suggestion
                )
            approved = await review.decide(
                db,
                item,
                step=step,
                decision=decision,
                actor=review.Actor.of(me.user),
                opinion=opinion,
                publish_form=forms,
            )
            await audit(
                db,
                me,
                f"item.review.{step.value}",
                f"item:{item.id}",
                decision=decision.value,
                opinion=opinion,
            )
    except review.ReviewRefused as exc:
        await review.record_refusal(resources.db, exc)
        raise
    except UserError as exc:
        if exc.field != "opinion":
            raise
        raise web.HTTPFound(f"/items/{request.match_info['item_id']}?error=opinion") from None
    if approved and review.pushable(item):
        await resources.queue.enqueue("process_item", item.id, job_id=f"process:{item.id}")
    await nudge(resources.queue)  # the next step's people
    raise web.HTTPFound(f"/items/{item.id}")


async def item_progress(request: web.Request) -> web.Response:
    await viewer(request, *STAFF)
    resources = request.app[RESOURCES]
    async with resources.db() as db:
        item = await load_item(db, request.match_info["item_id"])
        state = await progress(db, item, resources.settings.quiet_hours)
        return web.json_response(state | {"status": item.status})
