"""The approved SMS templates of a commercial SMS account (Aliyun, Tencent): the registry.

A template-mode account (:class:`channels.descriptor.SmsMode`) sends only texts
the provider approved, with typed variables. The registry is read from the
account's settings (``templates_file``: a YAML or JSON file in the format of
``docs/sms-templates/*.yaml``; and/or inline ``templates``)::

    sign_names: [青山镇人民政府]          # read by the emulators; ignored here
    templates:
      SMS_480100001:                     # the provider's template code
        purpose: notice                  # notice, urgent, deadline, meeting;
                                         # service: code, staff, answer
        text: "${org}发布通知：${title}，详见 https://gk.example.gov.cn/s/${code}"
        variables:
          org: {kind: others, max_len: 20}
          code: {kind: link_param, max_len: 12}

Each template is checked against the providers' rules for notification
templates (help.aliyun.com 463270 and the TemplateRule examples of 2806243;
Tencent Cloud's template review rules): no all-variable template, no two
variables side by side, no 【】 (the signature's brackets), no "回复R拒收"-style
text, no variable used twice, and a link only as a fixed domain and path with at
most a variable tail.
A template that breaks one is refused with the reason (:class:`TemplateError`)
when the channel is built, so the service does not start with it. That the fixed
link matches the deployment's short links (``PUSHER_PUBLIC_URL`` + ``/s/``) is
only a warning (:func:`link_warnings`): the console shows it.

Variable properties and their default limits (looked up 2026; the account may be
granted other limits, given per variable as ``max_len``): Aliyun ``name``,
``others``, ``money``, ``other_number2``, ``link_param`` 35 characters,
``phone_number2`` 15, ``time`` a real date and/or time, verification codes
4-6; Tencent ``other`` 6 by default (government/enterprise accounts ask for
more), ``code`` up to 6 digits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any, Literal

import yaml

Style = Literal["aliyun", "tencent"]
PURPOSES = ("notice", "urgent", "deadline", "meeting", "code", "staff", "answer")
#: Service messages (not pushes): binding codes, staff to-do notices, answers to residents.
SERVICE_PURPOSES = ("code", "staff", "answer")
PURPOSE_TITLES = {
    "notice": "一般通知",
    "urgent": "紧急提醒",
    "deadline": "截止提醒",
    "meeting": "会议通知",
    "code": "绑定验证码",
    "staff": "工作人员待办提醒",
    "answer": "留言回复提醒",
}
#: What each purpose's template is for (the console's 短信模板 page).
PURPOSE_USES = {
    "notice": "推送：一般信息",
    "urgent": "推送：紧急预警",
    "deadline": "推送：有截止日期的信息",
    "meeting": "推送：有时间和地点的会议",
    "code": "服务短信：微信绑定的验证码（阿里云须申请为验证码模板）",
    "staff": "服务短信：提醒工作人员有待审批、待回复、待转发的事项",
    "answer": "服务短信：告诉居民网格员已回复其留言",
}
#: The most characters a provider takes in one message after substitution.
MAX_TEXT = 500

_PLACEHOLDER: dict[Style, re.Pattern[str]] = {
    "aliyun": re.compile(r"\$\{(\w+)\}"),
    "tencent": re.compile(r"\{(\d+)\}"),
}
_URL = re.compile(r"https?://[^\s，。；！？、）)」”\"]+")
_OPT_OUT_TEXT = re.compile(
    r"回复?\s*[A-Za-z0-9]{1,4}\s*(?:拒收|退订)|(?:拒收|退订)\s*(?:请)?回复?\s*[A-Za-z]"
)
_MONEY = r"[\d.]+元?|[零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整]+"
_PUNCT = re.compile(r"[\s\W_]+")
_DATE = re.compile(r"(\d{4})(?:年|-|/)?(\d{1,2})(?:月|-|/)?(\d{1,2})日?")
_TIME = re.compile(r"(\d{1,2})(?::|点|时)(\d{2})分?")


@dataclass(frozen=True, slots=True)
class Property:
    """A variable property: its default length limit, shortest length and shape."""

    max_len: int
    min_len: int = 1
    shape: str = "text"  # text, datetime, digits, word, phone, money, link


ALIYUN_PROPERTIES: Mapping[str, Property] = {
    "name": Property(35),
    "others": Property(35),
    "time": Property(35, shape="datetime"),
    "money": Property(35, shape="money"),
    "other_number2": Property(35, shape="word"),
    "link_param": Property(35, shape="link"),
    "phone_number2": Property(15, 5, shape="phone"),
    "numberCaptcha": Property(6, 4, shape="digits"),
    "characterWithNumber2": Property(6, 4, shape="word"),
}
TENCENT_PROPERTIES: Mapping[str, Property] = {
    "other": Property(6),
    "code": Property(6, 0, shape="digits"),
}
PROPERTIES: Mapping[Style, Mapping[str, Property]] = {
    "aliyun": ALIYUN_PROPERTIES,
    "tencent": TENCENT_PROPERTIES,
}
DEFAULT_KIND: Mapping[Style, str] = {"aliyun": "others", "tencent": "other"}


#: The code of a message refused because no approved template was named for it.
NO_TEMPLATE = "no_template"
NO_TEMPLATE_MESSAGE = "未指定已审核的短信模板，未提交（商业短信账户不发送自由文本）"


class TemplateError(ValueError):
    """The registry cannot be used: unreadable, or a template breaks a provider rule."""


def is_datetime(value: str) -> bool:
    """A real date with its year, a time, or both (2026年12月8日, 2026-12-08 18:00, 18:00):
    Aliyun's ``time`` property (document 2806243: 20261220, 2026-12-20, 12:30)."""
    rest = value.strip()
    found = False
    m = _DATE.match(rest)
    if m is not None:
        try:
            date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return False
        rest, found = rest[m.end() :].strip(), True
    t = _TIME.fullmatch(rest) if rest else None
    if t is not None:
        try:
            time(int(t[1]), int(t[2]))
        except ValueError:
            return False
        return True
    return found and not rest


_SHAPES: dict[str, Callable[[str], bool]] = {
    "text": lambda v: True,
    "datetime": is_datetime,
    "digits": lambda v: v.isascii() and (v == "" or v.isdigit()),
    "word": lambda v: bool(re.fullmatch(r"[0-9A-Za-z_-]+", v)),
    "phone": lambda v: bool(re.fullmatch(r"[\d-]+", v)),
    "money": lambda v: bool(re.fullmatch(_MONEY, v)),
    "link": lambda v: bool(re.fullmatch(r"[0-9A-Za-z_\-./?=&%]+", v)),
}
_SHAPE_TITLES = {
    "datetime": "日期时间",
    "digits": "数字",
    "word": "字母数字",
    "phone": "电话号码",
    "money": "金额",
    "link": "链接参数",
}


@dataclass(frozen=True, slots=True)
class Variable:
    """One variable of a template: its name (Tencent: position), property and limit."""

    name: str
    kind: str
    max_len: int
    min_len: int
    shape: str

    def problem(self, value: str) -> str | None:
        """Why ``value`` would be refused for this variable (in Chinese), or None."""
        if len(value) > self.max_len:
            return f"变量「{self.name}」{len(value)} 字，超过 {self.max_len} 字上限"
        if len(value) < self.min_len:
            return f"变量「{self.name}」为空或过短"
        if not _SHAPES[self.shape](value):
            return f"变量「{self.name}」须为{_SHAPE_TITLES.get(self.shape, '文本')}：{value!r}"
        return None


@dataclass(frozen=True, slots=True)
class SmsTemplate:
    """An approved template: code, exact text with placeholders, purpose, variables."""

    code: str
    text: str
    purpose: str
    variables: tuple[Variable, ...]
    style: Style

    def names(self) -> list[str]:
        """The variable names in the order they appear in the text."""
        return [v.name for v in self.variables]

    def fill(self, params: Mapping[str, str]) -> str:
        """The text after substitution (without the signature)."""
        pattern = _PLACEHOLDER[self.style]
        return pattern.sub(lambda m: params.get(m[1], m[0]), self.text)

    def problems(self, params: Mapping[str, str]) -> list[str]:
        """Why ``params`` would be refused (missing, extra, over limit, bad shape)."""
        found = [f"缺少变量「{v.name}」" for v in self.variables if v.name not in params]
        found += [f"模板没有变量「{k}」" for k in params if k not in self.names()]
        found += [
            p for v in self.variables if v.name in params and (p := v.problem(params[v.name]))
        ]
        if not found and len(self.fill(params)) > MAX_TEXT:
            found.append(f"替换后超过 {MAX_TEXT} 字")
        return found

    def link_prefix(self) -> str | None:
        """The fixed part of the template's link before its variable, if it has one."""
        for url in _URL.findall(self.text):
            m = _PLACEHOLDER[self.style].search(url)
            if m is not None:
                return str(url[: m.start()])
        return None


@dataclass(frozen=True, slots=True)
class Registry:
    """The approved templates of one SMS account (code order as given)."""

    provider: str
    templates: tuple[SmsTemplate, ...]

    def for_purpose(self, purpose: str) -> SmsTemplate | None:
        """The first template for ``purpose``, if any."""
        return next((t for t in self.templates if t.purpose == purpose), None)

    def get(self, code: str) -> SmsTemplate | None:
        """The template with provider code ``code``, if any."""
        return next((t for t in self.templates if t.code == code), None)


def unapproved(
    registry: Registry | None, named: str, default: str, params: Mapping[str, str]
) -> bool:
    """True when an SMS may not go out as asked: no template code at all; or, on an
    account with approved templates, a message that does not name one of them (the
    account's default code, or an unknown one) or fills none of its variables. Either
    would send the whole text as one variable: free text by another name."""
    if registry is None:
        return not (named or default)
    return registry.get(named) is None or not params


def parse_template(style: Style, code: str, spec: Mapping[str, Any]) -> SmsTemplate:
    """One template from its mapping; ``TemplateError`` when it is malformed."""
    if not isinstance(spec, Mapping) or not isinstance(spec.get("text"), str):
        raise TemplateError(f"模板 {code}：缺少模板内容 text")
    text = str(spec["text"])
    purpose = str(spec.get("purpose", "notice"))
    if purpose not in PURPOSES:
        raise TemplateError(f"模板 {code}：用途 {purpose!r} 不是 {'、'.join(PURPOSES)} 之一")
    declared = spec.get("variables") or {}
    if not isinstance(declared, Mapping):
        raise TemplateError(f"模板 {code}：variables 须为映射")
    given = {str(k): v for k, v in declared.items()}  # YAML reads Tencent's `1:` as an int
    names = list(dict.fromkeys(_PLACEHOLDER[style].findall(text)))
    extra = sorted(set(given) - set(names))
    if extra:
        raise TemplateError(f"模板 {code}：变量 {'、'.join(extra)} 不在模板内容中")
    variables = []
    for name in names:
        raw = given.get(name) or {}
        item = {"kind": raw} if isinstance(raw, str) else dict(raw)
        kind = str(item.get("kind", DEFAULT_KIND[style]))
        prop = PROPERTIES[style].get(kind)
        if prop is None:
            known = "、".join(PROPERTIES[style])
            raise TemplateError(f"模板 {code}：变量「{name}」的属性 {kind!r} 未知（{known}）")
        limit = item.get("max_len", prop.max_len)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= MAX_TEXT:
            raise TemplateError(f"模板 {code}：变量「{name}」的 max_len 须为 1-{MAX_TEXT} 的整数")
        variables.append(Variable(name, kind, limit, prop.min_len, prop.shape))
    return SmsTemplate(str(code), text, purpose, tuple(variables), style)


def rule_problems(template: SmsTemplate) -> list[str]:
    """The provider rules ``template`` breaks (each a sentence), or []."""
    style, text = template.style, template.text
    pattern = _PLACEHOLDER[style]
    found = []
    if not _PUNCT.sub("", pattern.sub("", text)):
        found.append("模板全部由变量组成（须有固定文字）")
    if re.search(pattern.pattern + pattern.pattern, text):
        found.append("两个变量相连（变量之间须有固定文字）")
    placed = pattern.findall(text)
    if len(placed) != len(set(placed)):
        found.append("同一变量出现两次")
    if "【" in text or "】" in text:
        found.append("模板内容含【】（只有签名可用【】）")
    if _OPT_OUT_TEXT.search(text):
        found.append("通知短信不得含「回复R拒收」类退订文字")
    if len(pattern.sub("", text)) > MAX_TEXT:
        found.append(f"模板超过 {MAX_TEXT} 字")
    return found + _link_problems(template)


def _link_problems(template: SmsTemplate) -> list[str]:
    """A link only as a fixed domain and path with at most one variable at its end."""
    pattern = _PLACEHOLDER[template.style]
    found = []
    urls = _URL.findall(template.text)
    for url in urls:
        m = pattern.search(url)
        if m is None:
            continue
        host_end = url.find("/", url.index("//") + 2)
        if host_end == -1 or m.start() < host_end:
            found.append(f"链接 {url} 的域名含变量（链接须为固定域名/路径加变量）")
        elif m.end() != len(url) or len(pattern.findall(url)) > 1:
            found.append(f"链接 {url} 的变量须在末尾且只有一个")
        elif template.style == "aliyun" and _kind(template, m[1]) != "link_param":
            found.append(f"链接中的变量「{m[1]}」须为 link_param 属性")
    in_urls = {m for url in urls for m in pattern.findall(url)}
    for v in template.variables:
        if v.kind == "link_param" and v.name not in in_urls:
            found.append(f"链接变量「{v.name}」须紧跟固定域名和路径（如 https://域名/s/…）")
    return found


def _kind(template: SmsTemplate, name: str) -> str:
    return next((v.kind for v in template.variables if v.name == name), "")


def link_warnings(registry: Registry, short_base: str) -> dict[str, str]:
    """Templates whose fixed link is not ``short_base`` (PUBLIC_URL + /s/), by code.
    A verification code has no link; staff notices and answers link to a page of the
    deployment (under PUBLIC_URL + /, the page's last path segment the variable)."""
    site = short_base.removesuffix("s/")
    found = {}
    for t in registry.templates:
        prefix = t.link_prefix()
        if t.purpose == "code":
            continue
        service = t.purpose in SERVICE_PURPOSES
        expected = site if service else short_base
        if prefix is None:
            found[t.code] = "模板不含链接：居民无法打开通知全文"
        elif not prefix.startswith(expected) if service else prefix != expected:
            where = "地址" if t.purpose in SERVICE_PURPOSES else "短链接"
            found[t.code] = f"模板链接 {prefix} 与本系统{where} {expected} 不一致"
    return found


def parse_registry(provider: str, style: Style, data: Mapping[str, Any]) -> Registry:
    """A registry from a mapping holding ``templates``; ``TemplateError`` with every reason."""
    templates = data.get("templates")
    if not isinstance(templates, Mapping) or not templates:
        raise TemplateError("没有登记任何已审核模板（templates 为空）")
    built = [parse_template(style, str(code), spec) for code, spec in templates.items()]
    problems = [f"模板 {t.code}：{p}" for t in built for p in rule_problems(t)]
    if problems:
        raise TemplateError("；".join(problems))
    return Registry(provider, tuple(built))


def read_file(path: Path) -> Mapping[str, Any]:
    """The mapping in a YAML or JSON templates file; ``TemplateError`` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path}：无法读取（{exc}）") from exc
    if not isinstance(data, Mapping):
        raise TemplateError(f"{path}：须为映射（templates: …）")
    return data


def load_registry(
    provider: str, style: Style, *, file: str = "", inline: Mapping[str, Any] | None = None
) -> Registry | None:
    """The account's registry from its file and inline templates (inline wins on a code);
    None when neither is given. Reads a file: call at start-up, not per message."""
    merged: dict[str, Any] = {}
    if file:
        templates = read_file(Path(file)).get("templates") or {}
        if not isinstance(templates, Mapping):
            raise TemplateError(f"{file}：templates 须为映射")
        merged |= {str(k): v for k, v in templates.items()}
    merged |= {str(k): v for k, v in (inline or {}).items()}
    if not file and not merged:
        return None
    try:
        return parse_registry(provider, style, {"templates": merged})
    except TemplateError as exc:
        where = file or "templates"
        raise TemplateError(f"{where}：{exc}") from exc


def describe(registry: Registry, short_base: str) -> list[dict[str, Any]]:
    """Each template with its variables and warnings, for the console."""
    warnings = link_warnings(registry, short_base)
    return [
        {
            "code": t.code,
            "purpose": t.purpose,
            "purpose_title": PURPOSE_TITLES.get(t.purpose, t.purpose),
            "text": t.text,
            "variables": [
                {"name": v.name, "kind": v.kind, "max_len": v.max_len} for v in t.variables
            ],
            "warning": warnings.get(t.code, ""),
        }
        for t in registry.templates
    ]
