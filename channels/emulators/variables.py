"""Template variables and their rules: what each provider lets a variable hold.

A :class:`Kind` is a variable property (Aliyun's "变量属性", a Tencent variable
type, a WeChat subscription-message field type): a default length limit and a
shape. A :class:`Variable` is one named variable of an approved template with
its kind and, where the account was granted one, its own length limit.
:meth:`Variable.problem` says why a value is refused (``"length"`` or
``"format"``), or ``None``. The templates work reuses these tables.

Sources (looked up 2026; the providers change them, so every limit can be
overridden per variable in an account file):

- Aliyun: notification-template variables hold 1-35 characters by default;
  an account may have the limit lifted per template, the whole message still
  ≤500 (help.aliyun.com/zh/document_detail/3041859.html). Properties and
  shapes: help.aliyun.com/document_detail/2806243.html (numberCaptcha and
  characterWithNumber2 4-6, phone_number2 ≤15, time a date/time, money).
  Assumption: name, money, other_number2, link_param and others share the 35.
- Tencent: ``InvalidParameterValue.TemplateParameterLengthLimit`` — accounts
  opened after 2024-01-25 (or long unused) get 6 characters per variable by
  default, the console shows an account's own limit (the SDK's errorcodes.py,
  3.1.153); verification-code variables are 0-6 digits
  (``TemplateParameterFormatError``).
- WeChat subscription/template fields: thing ≤20, number ≤32 digits,
  letter ≤32, symbol ≤5, character_string ≤32, time/date a real date (年月日)
  and/or 24-hour time, a range joined by "~" (:func:`is_wechat_time`), amount
  one currency sign and ≤10 digits, optional
  "元", phone_number ≤17 digits and signs, car_number ≤8, name ≤10 Chinese or
  ≤20 letters, phrase ≤5 Chinese (the subscription-message docs' 参数类型
  table); 47003 otherwise. ``keyword`` is an old-style template field
  (first/keywordN/remark) with no per-field rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time

Check = Callable[[str], bool]
#: what a link's path variable may hold: a path code under the fixed link, no
#: scheme, host, further "/" or spaces (Aliyun link_param; our reading for Tencent)
PATH_CODE = r"[A-Za-z0-9_-]+"
_URL = re.compile(r"[a-z][a-z0-9+.-]*://|^//|www\.", re.IGNORECASE)
HAN = re.compile(r"^[\u4e00-\u9fff]+$")
_DATE = re.compile(r"^(\d{4})(?:年|-|/)?(\d{1,2})(?:月|-|/)?(\d{1,2})日?$")
_TIME = re.compile(r"^(\d{1,2})(?::|点)(\d{2})(?:(?::|分)(\d{2})秒?)?分?$")


def _anything(value: str) -> bool:
    return True


def _pattern(regex: str) -> Check:
    compiled = re.compile(regex)
    return lambda value: bool(compiled.fullmatch(value))


def _is_date(shape: re.Pattern[str], text: str) -> bool:
    """``text`` has ``shape`` (year, month, day groups) and names a day that exists."""
    m = shape.match(text)
    if m is None:
        return False
    try:
        date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return False
    return True


def _is_time(shape: re.Pattern[str], text: str) -> bool:
    """``text`` has ``shape`` (hour, minute, optional second groups) and is a real time."""
    m = shape.match(text)
    if m is None:
        return False
    try:
        time(int(m[1]), int(m[2]), int(m[3] or 0))
    except ValueError:
        return False
    return True


def _real_date(text: str) -> bool:
    return _is_date(_DATE, text)


def _real_time(text: str) -> bool:
    return _is_time(_TIME, text)


_PERIOD = re.compile(r"(上午|下午|晚上)$")


def _point(text: str) -> bool:
    """One date, one time, a date and a time separated by a space, or a date and a part
    of the day (Aliyun's "日期+区间": 上午, 下午, 晚上)."""
    parts = text.split()
    if len(parts) == 1 and _PERIOD.search(parts[0]):
        return _real_date(_PERIOD.sub("", parts[0]))
    if len(parts) == 2:
        return _real_date(parts[0]) and _real_time(parts[1])
    return len(parts) == 1 and (_real_date(parts[0]) or _real_time(parts[0]))


def is_datetime(value: str) -> bool:
    """A real date and/or time, or a range of two joined by "~"."""
    points = [p.strip() for p in value.split("~")]
    return 1 <= len(points) <= 2 and all(_point(p) for p in points)


_WX_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
_WX_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _wx_date(text: str) -> bool:
    return _is_date(_WX_DATE, text)


def _wx_clock(text: str) -> bool:
    return _is_time(_WX_TIME, text)


def _wx_point(text: str) -> bool:
    """One WeChat time point: 2019年10月1日, 15:01 or 2019年10月1日 15:01 (24-hour)."""
    parts = text.split(" ")
    if len(parts) == 2:
        return _wx_date(parts[0]) and _wx_clock(parts[1])
    return len(parts) == 1 and (_wx_date(parts[0]) or _wx_clock(parts[0]))


def is_wechat_time(value: str) -> bool:
    """A ``time``/``date`` field value as the subscription-message docs write it: a
    date in 年月日 and/or a 24-hour time, or two such joined by "~". Dashes and
    slashes are refused (a "2023-03-24 11:50:00" answered "value is empty", WeChat
    open community, 2023)."""
    points = [p.strip() for p in value.split("~")]
    return 1 <= len(points) <= 2 and all(_wx_point(p) for p in points)


def _person_name(value: str) -> bool:
    """≤10 when it holds Chinese (mixed counts as Chinese), else ≤20 letters or signs."""
    if re.search(r"[\u4e00-\u9fff]", value):
        return len(value) <= 10
    return len(value) <= 20


@dataclass(frozen=True)
class Kind:
    """A variable property: its default length limit (None: none) and shape."""

    max_len: int | None
    check: Check = _anything
    min_len: int = 1


ALIYUN_KINDS: dict[str, Kind] = {
    "numberCaptcha": Kind(6, _pattern(r"\d+"), 4),
    "characterWithNumber2": Kind(6, _pattern(r"[0-9A-Za-z]+"), 4),
    "name": Kind(35),
    "phone_number2": Kind(15, _pattern(r"1\d{10}|[\d-]{5,15}"), 5),
    "time": Kind(35, is_datetime),
    "money": Kind(35, _pattern(r"[\d.]+|[零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整]+")),
    "other_number2": Kind(35, _pattern(r"[0-9A-Za-z_-]+")),
    "link_param": Kind(35, _pattern(PATH_CODE)),
    "others": Kind(35),
}
TENCENT_KINDS: dict[str, Kind] = {
    "code": Kind(6, _pattern(r"\d+"), 0),
    "other": Kind(6),
}
WECHAT_KINDS: dict[str, Kind] = {
    "thing": Kind(20),
    "number": Kind(32, _pattern(r"\d+(\.\d+)?")),
    "letter": Kind(32, _pattern(r"[A-Za-z]+")),
    "symbol": Kind(5, _pattern(r"[^\w\s]+")),
    "character_string": Kind(32, _pattern(r"[\x21-\x7e]+")),
    "time": Kind(None, is_wechat_time),
    "date": Kind(None, is_wechat_time),
    "amount": Kind(None, _pattern(r"[¥$€£]?\d{1,10}(\.\d{1,2})?元?")),
    "phone_number": Kind(17, _pattern(r"[\d+\-]+")),
    "car_number": Kind(8, _pattern(r"[\u4e00-\u9fffA-Za-z0-9][A-Za-z0-9]*[\u4e00-\u9fff]?")),
    "name": Kind(None, _person_name),
    "phrase": Kind(5, lambda value: bool(HAN.match(value))),
    "keyword": Kind(None),
}


@dataclass(frozen=True)
class Variable:
    """One variable of an approved template: its name, kind and length limit.

    ``max_len`` None takes the kind's default; an account granted a longer
    variable (Aliyun's lifted limit, a Tencent company account) sets its own.
    """

    name: str
    kind: Kind
    max_len: int | None = None

    @property
    def limit(self) -> int | None:
        """The most characters this variable may hold (None: no limit of its own)."""
        return self.max_len if self.max_len is not None else self.kind.max_len

    def problem(self, value: str) -> str | None:
        """``"length"``, ``"format"`` or None when the service takes ``value``."""
        limit = self.limit
        if len(value) < self.kind.min_len or (limit is not None and len(value) > limit):
            return "length"
        return None if self.kind.check(value) else "format"


def carries_url(value: str) -> bool:
    """Whether ``value`` holds a link of its own (a scheme, "//" or "www.")."""
    return _URL.search(value) is not None


def link_problem(value: str) -> str | None:
    """Why ``value`` cannot stand as a link's path: ``"url"`` (a link of its own:
    outside the template's fixed domain), ``"format"``, or None."""
    if carries_url(value):
        return "url"
    return None if re.fullmatch(PATH_CODE, value) else "format"


def kind_of(table: dict[str, Kind], name: str) -> Kind:
    """The kind called ``name`` in ``table``; ``ValueError`` names the known ones."""
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown variable kind {name!r}; known: {', '.join(table)}") from None


def wechat_kind(field: str) -> Kind | None:
    """The kind a WeChat field key names by its prefix (``thing1`` → thing), if any."""
    return WECHAT_KINDS.get(field.rstrip("0123456789"))
