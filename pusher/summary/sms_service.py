"""Service SMS (binding codes, staff to-do notices, answers) through approved templates.

A template-mode SMS account (one with a registry, :mod:`channels.sms_templates`)
sends a service message only through the template of its purpose (``code``,
``staff``, ``answer``), its variables filled within their limits: the
organisation shortened like a publisher, the to-do shortened between units, the
link's tail the page (one path segment: the console's list of that kind, the
resident's WeChat message page). No template of that purpose, or a value that cannot
be made to fit: the message is refused locally (:data:`NO_TEMPLATE`, with the
reason), never sent as free text. A free-text account (CMPP, sandbox) gets the
caller's text as today.

Each variable's role is its name (``code``, ``org``, ``what``, ``page``) or, for
Tencent's numbered variables, its place in the purpose's order (:data:`ORDER`).
Pure and short: safe on the event loop (no tokenizer: the values are a few words).
"""

from __future__ import annotations

from collections.abc import Mapping

from channels.base import Channel, ChannelKind, Message, PermanentError
from channels.sms_templates import PURPOSE_TITLES, Registry, SmsTemplate, Variable
from pusher.summary.length import fit_units, split_units
from pusher.summary.sms_template import NO_TEMPLATE, short_org

#: Tencent's numbered variables, in text order, per purpose.
ORDER: Mapping[str, tuple[str, ...]] = {
    "code": ("code",),
    "staff": ("org", "what", "page"),
    "answer": ("org", "page"),
}
_SAFE = str.maketrans({"【": "", "】": "", "\n": "", "\r": "", "$": "＄", "{": "（", "}": "）"})


def registry_of(channel: Channel) -> Registry | None:
    """The approved templates of a template-mode SMS channel; None for free text."""
    found = getattr(channel, "templates", None)
    return found if channel.kind is ChannelKind.SMS and isinstance(found, Registry) else None


def service_message(
    channel: Channel,
    purpose: str,
    *,
    key: str,
    recipient: str,
    text: str,
    values: Mapping[str, str],
) -> Message | PermanentError:
    """The message to send, or why it is refused locally (never sent as free text)."""
    registry = registry_of(channel)
    if registry is None:
        return Message(key=key, recipient=recipient, text=text)
    title = PURPOSE_TITLES.get(purpose, purpose)
    template = registry.for_purpose(purpose)
    if template is None:
        return PermanentError(
            NO_TEMPLATE, f"没有适用于{title}的短信模板，未发送（商业短信账户不发送自由文本）"
        )
    params: dict[str, str] = {}
    for i, v in enumerate(template.variables):
        role = _role(template, v, i)
        value = _value(role, v, values.get(role, ""), template)
        if not value:
            return PermanentError(
                NO_TEMPLATE, f"{title}：模板 {template.code} 的变量「{v.name}」无法填写，未发送"
            )
        params[v.name] = value
    problems = template.problems(params)
    if problems:
        return PermanentError(NO_TEMPLATE, f"{title}：模板 {template.code}：{'；'.join(problems)}")
    return Message(
        key=key,
        recipient=recipient,
        text=template.fill(params),
        params=params,
        template=template.code,
    )


def _role(template: SmsTemplate, variable: Variable, index: int) -> str:
    if template.style == "aliyun" or not variable.name.isdigit():
        return variable.name
    order = ORDER.get(template.purpose, ())
    return order[index] if index < len(order) else ""


def _value(role: str, v: Variable, raw: str, template: SmsTemplate) -> str:
    value = raw.strip().translate(_SAFE)
    if role == "org":
        return short_org(value, "", v.max_len, None)
    if role == "page":  # one path segment after the template's fixed link
        value = value.strip("/").split("/")[0]
    if role == "what" and len(value) > v.max_len:
        value = fit_units(split_units(value, None), v.max_len)
    return value if len(value) <= v.max_len else ""
