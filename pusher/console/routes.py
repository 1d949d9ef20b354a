"""Every console route in one place (names start with ``console.``: CSRF and HTML errors)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from pusher.console import (
    audit_page,
    auth,
    chats_page,
    dashboard,
    deliveries,
    delivery_export,
    due,
    erase,
    followup,
    groups_page,
    inbox_page,
    item_page,
    item_takedown,
    items,
    messages,
    regions_page,
    relay_page,
    reports,
    residents,
    roster_import,
    rules_page,
    settings_page,
    setup_page,
    sms_templates_page,
    sources,
    topics_page,
    users,
)


def setup_routes(app: web.Application, *, static: Path) -> None:
    """Register the console's pages, forms, small JSON endpoints and static files."""
    r = app.router
    get, post = r.add_get, r.add_post
    get("/", dashboard.dashboard, name="console.dashboard")
    get("/login", auth.login_page, name="console.login_page")
    post("/login", auth.login, name="console.login")
    post("/logout", auth.logout, name="console.logout")
    get("/items", items.items_list, name="console.items")
    get("/items/new", items.item_new, name="console.item_new")
    post("/items/new", items.item_create, name="console.item_create")
    get("/items/{item_id:\\d+}", item_page.item_page, name="console.item")
    get("/items/{item_id:\\d+}/edit", items.item_edit, name="console.item_edit")
    post("/items/{item_id:\\d+}/edit", items.item_update, name="console.item_update")
    post("/items/{item_id:\\d+}/submit", items.item_submit, name="console.item_submit")
    post("/items/{item_id:\\d+}/review", item_page.item_review, name="console.item_review")
    takedown = item_takedown.item_takedown
    post("/items/{item_id:\\d+}/takedown", takedown, name="console.item_takedown")
    get("/items/{item_id:\\d+}/progress.json", item_page.item_progress, name="console.progress")
    get("/deliveries", deliveries.deliveries_page, name="console.deliveries")
    get("/deliveries/export.{fmt:xlsx|csv}", delivery_export.export, name="console.export")
    post("/deliveries/retry", deliveries.retry, name="console.retry")
    get("/followup", followup.followup_page, name="console.followup")
    post("/followup/{delivery_id:\\d+}/confirm", followup.confirm, name="console.confirm")
    get("/relay", relay_page.relay_page, name="console.relay")
    post("/relay/{delivery_id:\\d+}/done", relay_page.relay_done, name="console.relay_done")
    post("/relay/{delivery_id:\\d+}/refuse", relay_page.relay_refuse, name="console.relay_refuse")
    get("/residents", residents.residents_page, name="console.residents")
    get("/residents/new", residents.resident_new, name="console.resident_new")
    post("/residents/new", residents.resident_create, name="console.resident_create")
    get("/residents/{resident_id:\\d+}", residents.resident_edit, name="console.resident")
    post("/residents/{resident_id:\\d+}", residents.resident_update, name="console.resident_save")
    get("/residents/{resident_id:\\d+}/erase", erase.erase_page, name="console.erase_page")
    post("/residents/{resident_id:\\d+}/erase", erase.erase, name="console.erase")
    get("/residents/import", roster_import.import_page, name="console.import_page")
    post("/residents/import", roster_import.import_upload, name="console.import_upload")
    post("/residents/import/apply", roster_import.import_apply, name="console.import_apply")
    get("/residents/export.{fmt:xlsx|csv}", residents.export, name="console.resident_export")
    get("/rules", rules_page.rules_list, name="console.rules")
    get("/rules/validate", rules_page.validate, name="console.rule_validate")
    get("/rules/{group_id:\\d+}", rules_page.group_page, name="console.group")
    post("/rules/{group_id:\\d+}", rules_page.group_save, name="console.group_save")
    post("/rules/{group_id:\\d+}/test", rules_page.group_test, name="console.group_test")
    get("/sandbox", inbox_page.inbox, name="console.sandbox")
    get("/audit", audit_page.audit_list, name="console.audit")
    get("/users", users.users_page, name="console.users")
    post("/users", users.user_create, name="console.user_create")
    post("/users/{user_id:\\d+}", users.user_update, name="console.user_update")
    get("/sources", sources.sources_list, name="console.sources")
    get("/sources/new", sources.source_new, name="console.source_new")
    post("/sources/new", sources.source_save, name="console.source_create")
    get("/sources/{source_id:\\d+}", sources.source_page, name="console.source")
    post("/sources/{source_id:\\d+}", sources.source_save, name="console.source_save")
    post("/sources/{source_id:\\d+}/fetch", sources.source_fetch, name="console.source_fetch")
    get("/messages", messages.messages_page, name="console.messages")
    post("/messages/{message_id:\\d+}/answer", messages.answer, name="console.message_answer")
    post("/messages/{message_id:\\d+}/close", messages.close, name="console.message_close")
    get("/bindings", messages.bindings_page, name="console.bindings")
    post("/bindings/{binding_id:\\d+}", messages.decide_binding, name="console.binding_decide")
    get("/posters", messages.posters_page, name="console.posters")
    get("/posters/{region_id:\\d+}", messages.poster, name="console.poster")
    get("/items/{item_id:\\d+}/review-form", reports.review_form, name="console.review_form")
    get("/items/{item_id:\\d+}/review-form.pdf", reports.review_form_pdf,
        name="console.review_form_pdf")  # fmt: skip
    get("/due", due.due_page, name="console.due")
    get("/settings", settings_page.settings_page, name="console.settings")
    get("/sms-templates", sms_templates_page.sms_templates_page, name="console.sms_templates")
    get("/reports/monthly", reports.monthly_page, name="console.report_monthly")
    get("/reports/monthly/print", reports.monthly_print, name="console.report_print")
    get("/reports/monthly.xlsx", reports.monthly_xlsx, name="console.report_xlsx")
    get("/reports/yearly", reports.yearly_page, name="console.report_yearly")
    get("/reports/register.xlsx", reports.register_xlsx, name="console.report_register")
    setup_town_routes(app)
    r.add_static("/static/", static, name="console.static")


def setup_town_routes(app: web.Application) -> None:
    """First-run setup and the town's own structure (issue 19)."""
    get, post = app.router.add_get, app.router.add_post
    get("/setup", setup_page.setup_page, name="console.setup")
    post("/setup", setup_page.setup_submit, name="console.setup_submit")
    get("/regions", regions_page.regions_page, name="console.regions")
    post("/regions/new", regions_page.region_create, name="console.region_create")
    post("/regions/import", regions_page.region_import, name="console.region_import")
    post("/regions/{region_id:\\d+}", regions_page.region_change, name="console.region_change")
    get("/topics", topics_page.topics_page, name="console.topics")
    post("/topics", topics_page.topic_create, name="console.topic_create")
    post("/topics/{topic_id:\\d+}", topics_page.topic_update, name="console.topic_update")
    get("/groups", groups_page.groups_page, name="console.groups")
    post("/groups", groups_page.group_create, name="console.group_create")
    get("/groups/{group_id:\\d+}", groups_page.group_page, name="console.group_edit")
    post("/groups/{group_id:\\d+}", groups_page.group_update, name="console.group_update")
    get("/chats", chats_page.chats_page, name="console.chats")
    post("/chats", chats_page.chat_create, name="console.chat_create")
    post("/chats/{chat_id:\\d+}", chats_page.chat_update, name="console.chat_update")
