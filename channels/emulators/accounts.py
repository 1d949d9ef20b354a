"""What an emulated provider account holds, and reading it from an account file.

``pusher emulate PROVIDER --account FILE`` (YAML or JSON) describes the account
the emulator answers for, so it refuses what the real account would::

    # aliyun-sms / tencent-sms
    sign_names: [青山镇]
    sdk_app_ids: ["1400000001"]         # Tencent only
    daily_cap_per_number: 10
    refused_numbers: ["13900000009"]    # always fail
    templates:
      SMS_100:                          # Aliyun ${var}, Tencent {1}, {2}, …
        text: "${town}通知：${content}"
        variables:
          town: {kind: name}            # the kind's default limit (35 on Aliyun)
          content: {kind: others, max_len: 200}   # a limit this account was granted

    # wechat
    followers: [oAbc1, oAbc2]           # omitted: everyone follows
    refused: [oAbc2]                    # refused the account's messages (43101)
    templates:
      TPL-1: {thing1: thing, time2: time}

    # wecom
    keys: ["693a91f6-7a2b-4bc4-97a0-0ec2fa5aaa01"]
    corp_id: ww0a1b2c3d4e5f6a7b            # customer-group mass messages (客户群群发)
    corp_secret: emulator-secret
    groups:                             # each group owner's (userid) customer groups
      zhangsan: [wrOgQhDgAAAA0001, wrOgQhDgAAAA0002]

A value left out keeps the permissive default (any sign, any template, no
cap). Kinds and limits: :mod:`channels.emulators.variables`. Each SMS
template's text goes through the provider's review
(:mod:`channels.emulators.review`): one that would not have been approved is
kept as not approved (sending with it is refused) and the reasons are logged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from channels.emulators.review import link_variables, review
from channels.emulators.variables import (
    ALIYUN_KINDS,
    TENCENT_KINDS,
    WECHAT_KINDS,
    Kind,
    Variable,
    kind_of,
    wechat_kind,
)

ALIYUN_VAR = re.compile(r"\$\{(\w+)\}")
TENCENT_VAR = re.compile(r"\{(\d+)\}")
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsTemplate:
    """An SMS template of the account: its code, its text with placeholders, its variables.

    ``links`` names the variables that stand as the path of a link fixed in the
    text; ``refusals`` says why the provider's review would not have approved
    the text (:mod:`channels.emulators.review`); such a template cannot be sent.
    """

    code: str
    text: str
    variables: tuple[Variable, ...]
    links: frozenset[str] = frozenset()
    refusals: tuple[str, ...] = ()

    @property
    def approved(self) -> bool:
        """Whether the template passed review (only an approved template sends)."""
        return not self.refusals

    def variable(self, name: str) -> Variable | None:
        """The variable called ``name`` (Tencent: its 1-based position), if any."""
        return next((v for v in self.variables if v.name == name), None)


@dataclass(frozen=True)
class SmsAccount:
    """An SMS account; ``None`` for signs, templates or app ids means "any"."""

    sign_names: frozenset[str] | None = None
    templates: Mapping[str, SmsTemplate] | None = None
    sdk_app_ids: frozenset[str] | None = None
    daily_cap_per_number: int | None = None
    refused_numbers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class WeChatTemplate:
    """An official-account template (or subscription template) and its typed fields."""

    template_id: str
    fields: Mapping[str, Kind]


@dataclass(frozen=True)
class WeChatAccount:
    """Followers (None: everyone), refusing openids, templates (None: any id)."""

    followers: frozenset[str] | None = None
    refused: frozenset[str] = frozenset()
    templates: Mapping[str, WeChatTemplate] | None = None

    def field_kind(self, template_id: str, key: str) -> Kind | None:
        """The rule for field ``key``: declared by the template, else named by its prefix."""
        template = (self.templates or {}).get(template_id)
        if template is not None and key in template.fields:
            return template.fields[key]
        return wechat_kind(key)


@dataclass(frozen=True)
class WeComAccount:
    """Group robots by webhook key (None: any UUID-shaped key); for customer-group mass
    messages the corp id and app secret (None: any) and each owner's customer groups
    (None: any owner owns any group)."""

    keys: frozenset[str] | None = None
    corp_id: str | None = None
    corp_secret: str | None = None
    groups: Mapping[str, frozenset[str]] | None = None


@dataclass(frozen=True)
class _Placeholders:
    pattern: re.Pattern[str]
    kinds: dict[str, Kind]
    default_kind: str = field(default="others")
    #: the property a link's path variable must have (None: the provider has none)
    link_kind: str | None = None


_SMS = {
    "aliyun-sms": _Placeholders(ALIYUN_VAR, ALIYUN_KINDS, "others", "link_param"),
    "tencent-sms": _Placeholders(TENCENT_VAR, TENCENT_KINDS, "other"),
}


def sms_template(
    provider: str,
    code: str,
    text: str,
    variables: Mapping[str, Any] | None = None,
    *,
    reviewed: bool = True,
) -> SmsTemplate:
    """A template of ``provider`` (aliyun-sms, tencent-sms) whose variables are its placeholders.

    ``variables`` maps a placeholder to ``{kind, max_len}`` (or a kind name);
    one left out has the provider's default kind and limit. The text goes
    through the provider's review unless ``reviewed`` is False (a test account
    standing for a free-text grant); a refused one is kept, not approved, and logged.
    """
    rules = _SMS[provider]
    given = {str(k): v for k, v in (variables or {}).items()}  # YAML reads `1:` as an int
    names = list(dict.fromkeys(rules.pattern.findall(text)))
    unknown = set(given) - set(names)
    if unknown:
        raise ValueError(f"template {code}: variables not in its text: {sorted(unknown)}")
    built, kinds = [], []
    for name in names:
        spec = given.get(name) or {}
        spec = {"kind": spec} if isinstance(spec, str) else dict(spec)
        kind_name = str(spec.get("kind", rules.default_kind))
        limit = spec.get("max_len")
        built.append(Variable(name, kind_of(rules.kinds, kind_name), _limit(limit)))
        kinds.append((name, kind_name))
    refusals = review(text, rules.pattern, link_kinds=kinds, link_kind=rules.link_kind)
    if refusals and reviewed:
        LOG.warning("%s template %s not approved: %s", provider, code, "; ".join(refusals))
    links = frozenset(link_variables(text, rules.pattern))
    return SmsTemplate(code, text, tuple(built), links, tuple(refusals) if reviewed else ())


def _limit(value: Any) -> int | None:
    return int(value) if value is not None else None


def sms_shorthand(
    provider: str,
    account: SmsAccount | None,
    *,
    templates: Mapping[str, str] | None,
    daily_cap_per_number: int | None,
) -> SmsAccount:
    """The account an SMS emulator answers for: ``account``, else one holding only
    ``templates`` (code → text, default variable rules) or anything; a daily cap on top."""
    if account is None:
        approved = None
        if templates is not None:
            approved = {c: sms_template(provider, c, t) for c, t in templates.items()}
        account = SmsAccount(templates=approved)
    if daily_cap_per_number is not None:
        account = replace(account, daily_cap_per_number=daily_cap_per_number)
    return account


def _strings(data: Mapping[str, Any], key: str) -> frozenset[str] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"{key} must be a list")
    return frozenset(str(v) for v in value)


def sms_account(provider: str, data: Mapping[str, Any], *, reviewed: bool = True) -> SmsAccount:
    """An :class:`SmsAccount` from an account file's mapping (``reviewed``: see
    :func:`sms_template`)."""
    templates = data.get("templates")
    built = None
    if templates is not None:
        built = {
            str(code): sms_template(
                provider, str(code), str(t["text"]), t.get("variables"), reviewed=reviewed
            )
            for code, t in dict(templates).items()
        }
    cap = data.get("daily_cap_per_number")
    return SmsAccount(
        sign_names=_strings(data, "sign_names"),
        templates=built,
        sdk_app_ids=_strings(data, "sdk_app_ids"),
        daily_cap_per_number=int(cap) if cap is not None else None,
        refused_numbers=_strings(data, "refused_numbers") or frozenset(),
    )


def wechat_account(data: Mapping[str, Any]) -> WeChatAccount:
    """A :class:`WeChatAccount` from an account file's mapping."""
    templates = data.get("templates")
    built = None
    if templates is not None:
        built = {
            str(tid): WeChatTemplate(
                str(tid), {str(k): kind_of(WECHAT_KINDS, str(v)) for k, v in dict(f).items()}
            )
            for tid, f in dict(templates).items()
        }
    return WeChatAccount(
        followers=_strings(data, "followers"),
        refused=_strings(data, "refused") or frozenset(),
        templates=built,
    )


def wecom_account(data: Mapping[str, Any]) -> WeComAccount:
    """A :class:`WeComAccount` from an account file's mapping."""
    groups = data.get("groups")
    if groups is not None and not isinstance(groups, dict):
        raise ValueError("groups must map an owner to a list of chat ids")
    owned = None
    if groups is not None:
        owned = {str(owner): _strings(groups, owner) or frozenset() for owner in groups}
    secret = data.get("corp_secret")
    return WeComAccount(
        keys=_strings(data, "keys"),
        corp_id=str(data["corp_id"]) if data.get("corp_id") is not None else None,
        corp_secret=str(secret) if secret is not None else None,
        groups=owned,
    )


Account = SmsAccount | WeChatAccount | WeComAccount


def read_account(provider: str, path: Path) -> Account:
    """The account of ``provider`` described by the YAML or JSON file at ``path``.

    ``ValueError`` (with the file named) when it cannot be read as one.
    """
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ValueError("the file must hold a mapping")
        if provider == "wechat":
            return wechat_account(data)
        if provider == "wecom":
            return wecom_account(data)
        if provider in _SMS:
            return sms_account(provider, data)
    except (ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    raise ValueError(f"unknown provider {provider!r}")
