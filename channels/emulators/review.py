"""Whether a notification template's text would pass the provider's review.

An emulated account loaded with a template the real provider would not have
approved keeps it as "not approved": sending with it is refused as the real
service refuses an unapproved template (Aliyun ``isv.SMS_TEMPLATE_ILLEGAL``,
Tencent ``FailedOperation.TemplateIncorrectOrUnapproved``), and the account
loader logs the reasons. :func:`review` lists them.

Rules (looked up 2026; the providers tighten them without notice):

- Aliyun, 通知短信模板规范 (help.aliyun.com/document_detail/463270.htm):
  1-500 characters with the variables; 【】 nowhere in the text and no [ ] at
  its start or end (the signature is put in 【】); a notification may not carry
  the opt-out "拒收请回复R" (nor other opt-out wording). 申请短信模板
  (help.aliyun.com/document_detail/44357.html): each variable 1-35 characters,
  a variable appears once, no combined or adjacent variables, no template that
  is all variables. TemplateRule examples (document 2806243): a link's domain is
  fixed in the text; only its path may be a variable, of property
  ``link_param``; a URL passed as a variable is ``isv.PARAM_NOT_SUPPORT_URL``
  ("域名和ip请固化到模板申请中", the error-code table).
- Tencent, 正文模板审核标准 (tencentcloud.com/document/product/382/40659):
  the message with signature and variable values ≤500 characters; no 【】 in
  the body; no template of variables alone nor variables next to each other;
  links fixed in the text. Tencent has no link property: the variable that
  follows a fixed link is the link's path (our reading, as for Aliyun). The
  one-use-per-variable rule is applied to Tencent too (an assumption).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_TEMPLATE_CHARS = 500
#: a link written in the text: a scheme or "www.", then the host and path up to a space
_LINK = re.compile(r"(?:https?://|www\.)[^\s，。；！？、）)】]*", re.IGNORECASE)
_OPT_OUT = re.compile(r"回复\s*(?:R|TD|T|N|退订)|拒收请回复|退订回", re.IGNORECASE)
_FILLER = re.compile(r"[\s\W_]*")


def link_variables(text: str, pattern: re.Pattern[str]) -> set[str]:
    """Names of the variables that stand as the path of a link fixed in ``text``."""
    names: set[str] = set()
    for link in _LINK.finditer(text):
        names.update(pattern.findall(link.group()))
    return names


def _link_problems(text: str, pattern: re.Pattern[str]) -> list[str]:
    problems = []
    for link in _LINK.finditer(text):
        url = link.group()
        first = pattern.search(url)
        if first is None:
            continue
        rest = re.sub(r"^(?:https?://)?", "", url[: first.start()], flags=re.IGNORECASE)
        host, slash, _ = rest.partition("/")
        if not slash or not host or "." not in host:
            problems.append(f"链接 {url} 的域名不是固定的（变量只能在固定域名之后作路径）")
    return problems


def review(
    text: str,
    pattern: re.Pattern[str],
    *,
    link_kinds: Sequence[tuple[str, str]] = (),
    link_kind: str | None = None,
) -> list[str]:
    """Why a notification template with ``text`` would not be approved (empty: it would).

    ``pattern`` finds the provider's placeholders (its group: the variable's name).
    ``link_kinds`` pairs each variable with its declared property; when
    ``link_kind`` is given (Aliyun: ``link_param``), a variable standing as a
    link's path must have it, and a variable with it must stand there.
    """
    problems: list[str] = []
    if not 1 <= len(text) <= MAX_TEMPLATE_CHARS:
        problems.append(f"模板长度须为1-{MAX_TEMPLATE_CHARS}个字符")
    if "【" in text or "】" in text:
        problems.append("模板中不能出现【】（签名位于【】中）")
    stripped = text.strip()
    if stripped.startswith(("[", "［")) or stripped.endswith(("]", "］")):
        problems.append("模板首尾不能使用[ ]")
    if _OPT_OUT.search(text):
        problems.append("通知短信不能包含退订方式（如“拒收请回复R”）")
    names = pattern.findall(text)
    fixed = pattern.sub("", text)
    if names and _FILLER.fullmatch(fixed):
        problems.append("不支持全变量模板：模板须有说明用途的固定文字")
    if re.search(pattern.pattern + r"\s*" + pattern.pattern, text):
        problems.append("不支持相邻变量（变量之间须有固定文字）")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(f"同一变量在模板中只能出现一次：{', '.join(repeated)}")
    problems.extend(_link_problems(text, pattern))
    if link_kind is not None:
        in_links = link_variables(text, pattern)
        for name, kind in link_kinds:
            if name in in_links and kind != link_kind:
                problems.append(f"链接路径变量 {name} 的属性须为 {link_kind}")
            if kind == link_kind and name not in in_links:
                problems.append(f"变量 {name} 属性为 {link_kind}，须紧跟模板中固定的链接")
    return problems
