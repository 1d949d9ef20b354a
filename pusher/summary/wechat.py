"""WeChat template / subscription message fields, each within its type's rule.

Rules (the subscription-message docs' 参数类型 table, developers.weixin.qq.com
subscribeMessage.send; reference channels.md §2): thing ≤20 characters; number ≤32
digits; letter ≤32 letters; symbol ≤5; character_string ≤32 without Chinese; time/date
a real date in 年月日 and/or a 24-hour time; amount one currency symbol + ≤10 digits
(+元); phone_number ≤17 digits and signs; car_number ≤8; name ≤10 Chinese (mixed counts
as Chinese) or ≤20 letters; phrase ≤5 Chinese characters; const is fixed by the
template. An empty value or one its rule refuses is answered 47003 ("argument invalid!
data.thing1.value invalid"), so :func:`field_problems` lists the fields a notice could
not fill validly and the pipeline sends the text fallback instead.

Fields are filled in the order of the mapping: the first ``thing`` gets the title (cut
at a word, never mid-word), the next ones the eligible group, the place, the lead and
the publisher. A time field gets the primary deadline, else the publishing date, else
``today``: never an empty string.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from pusher.summary.length import fit_units, split_units, units_of
from pusher.summary.model import Summary
from pusher.summary.sms import primary_deadline

if TYPE_CHECKING:
    import jieba

FIELD_LIMITS: dict[str, int] = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "time": 32,
    "date": 32,
    "amount": 14,
    "phone_number": 17,
    "car_number": 8,
    "name": 20,
    "phrase": 5,
    "const": 20,
}
NAME_CJK_LIMIT = 10
_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_FORMATS: dict[str, re.Pattern[str]] = {
    "number": re.compile(r"\d+(?:\.\d+)?"),
    "letter": re.compile(r"[A-Za-z]+"),
    "character_string": re.compile(r"[\x21-\x7e]+"),
    "amount": re.compile(r"[¥￥]?\d{1,10}(?:\.\d{1,2})?元?"),
    "phone_number": re.compile(r"\+?\d[\d-]*"),
    "phrase": re.compile(r"[\u4e00-\u9fff]+"),
    "time": re.compile(r"(?:\d{4}年\d{1,2}月\d{1,2}日)?(?: ?\d{1,2}:\d{2})?"),
    "date": re.compile(r"\d{4}年\d{1,2}月\d{1,2}日(?: \d{1,2}:\d{2})?"),
}
_POINT_RE = re.compile(r"(?:(\d{4})年(\d{1,2})月(\d{1,2})日)?(?: ?(\d{1,2}):(\d{2}))?")
_FULL_DATE_RE = re.compile(
    r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]"
    r"(?:(?P<H>\d{1,2})(?:时|:|：|点)(?P<M>\d{2})?)?"
)
_MONEY_RE = re.compile(r"(?P<n>\d+(?:\.\d+)?)(?:多|余)?(?P<u>万|亿|千)?(?:多|余)?元")
_SCALE = {"千": 1_000, "万": 10_000, "亿": 100_000_000, None: 1}
_BEIJING = dt.timezone(dt.timedelta(hours=8))
_REGION_PREFIX_RE = re.compile(r"^[\u4e00-\u9fff]{2,6}?(?:省|自治区|市|州|盟|县|区|旗)")


class UnknownFieldTypeError(ValueError):
    """A template field type this renderer does not know."""


def field_fits(kind: str, value: str) -> bool:
    """Whether ``value`` is acceptable for a field of type ``kind`` ("" always fits here;
    :func:`field_problems` refuses it, as the service does)."""
    if kind not in FIELD_LIMITS:
        raise UnknownFieldTypeError(kind)
    if value == "":
        return True
    limit = NAME_CJK_LIMIT if kind == "name" and _CJK_RE.search(value) else FIELD_LIMITS[kind]
    pattern = _FORMATS.get(kind)
    if len(value) > limit or (pattern is not None and pattern.fullmatch(value) is None):
        return False
    return kind not in ("time", "date") or _real_point(value)


def _real_point(value: str) -> bool:
    """Whether a time/date value names a day and an hour that exist (not 2月30日, 25:00)."""
    m = _POINT_RE.fullmatch(value)
    if m is None or not value.strip():
        return False
    try:
        if m[1]:
            dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m[4]:
            dt.time(int(m[4]), int(m[5]))
    except ValueError:
        return False
    return True


def field_problems(fields: Mapping[str, str], values: Mapping[str, str]) -> list[str]:
    """The keys of ``fields`` whose value is missing, empty or refused by its type's rule
    (the service answers each with 47003)."""
    return [
        key
        for key, kind in fields.items()
        if not values.get(key) or not field_fits(kind, values[key])
    ]


def render_wechat_fields(
    summary: Summary,
    *,
    fields: Mapping[str, str],
    tokenizer: jieba.Tokenizer,
    today: dt.date | None = None,
) -> dict[str, str]:
    """Template key → value, every value within its type's rule ("" if nothing fits:
    see :func:`field_problems`). ``today`` dates a time field when the notice has no
    date and no publishing date (None: the date in Beijing now)."""
    things = _thing_values(summary, tokenizer)
    renderers: dict[str, Callable[[Summary], str]] = {
        "time": lambda s: _time_value(s, today),
        "date": lambda s: _time_value(s, today),
        "amount": _amount_value,
        "number": _number_value,
        "phone_number": lambda s: _first(s.facts.phones, "phone_number"),
        "character_string": lambda s: _first(s.facts.phones, "character_string"),
        "phrase": _phrase_value,
        "name": lambda s: _name_value(s, tokenizer),
    }
    out: dict[str, str] = {}
    for key, kind in fields.items():
        if kind not in FIELD_LIMITS:
            raise UnknownFieldTypeError(f"{key}: {kind}")
        if kind == "thing":
            out[key] = next(things)
        else:
            render = renderers.get(kind)
            out[key] = render(summary) if render else ""
    return out


def _thing_values(summary: Summary, tokenizer: jieba.Tokenizer) -> Iterator[str]:
    limit = FIELD_LIMITS["thing"]
    title = units_of(summary.title, summary.title_units, tokenizer)
    if summary.urgent and summary.warning and len(summary.title) > limit:
        yield summary.warning  # a warning reads first as the warning itself (≤10: WARNING_RE)
    elif fitted := fit_units(title, limit):
        yield fitted
    facts = summary.facts
    for text in (*facts.eligible[:1], *facts.places[:1], summary.lead, summary.publisher):
        value = fit_units(split_units(text, tokenizer), limit)
        if value:
            yield value
    while True:
        yield "详见全文"


def _first(values: tuple[str, ...], kind: str) -> str:
    return next((v for v in values if field_fits(kind, v)), "")


def _time_value(summary: Summary, today: dt.date | None) -> str:
    deadlines = summary.facts.deadlines
    primary = primary_deadline(deadlines)
    for text in (primary, *deadlines):
        dates = list(_FULL_DATE_RE.finditer(text))
        if dates:
            m = dates[-1]  # the end of a range is the date that matters
            day = f"{m['y']}年{int(m['m'])}月{int(m['d'])}日"
            value = f"{day} {m['H']}:{m['M'] or '00'}" if m["H"] else day
            if field_fits("time", value):
                return value
            if field_fits("time", day):  # "24时" is no hour WeChat takes; the day is
                return day
    d = summary.published_at or today or dt.datetime.now(_BEIJING).date()
    return f"{d.year}年{d.month}月{d.day}日"


def _money(summary: Summary) -> str:
    for amount in summary.facts.amounts:
        m = _MONEY_RE.search(amount)
        if m:
            value = float(m["n"]) * _SCALE[m["u"]]
            return f"{value:.2f}".rstrip("0").rstrip(".")
    return ""


def _amount_value(summary: Summary) -> str:
    value = _money(summary)
    text = f"{value}元" if value else ""
    return text if field_fits("amount", text) else ""


def _number_value(summary: Summary) -> str:
    value = _money(summary)
    return value if field_fits("number", value) else ""


def _phrase_value(summary: Summary) -> str:
    if summary.urgent:
        colour = re.search(r"(?:红色|橙色|黄色|蓝色)预警", summary.warning)
        return colour.group() if colour else "紧急通知"
    return "限期办理" if summary.facts.deadlines else "政务公开"


def _name_value(summary: Summary, tokenizer: jieba.Tokenizer) -> str:
    name = summary.publisher
    while not field_fits("name", name):
        shorter = _REGION_PREFIX_RE.sub("", name, count=1)
        if shorter == name:
            return fit_units(split_units(name, tokenizer), NAME_CJK_LIMIT, ellipsis="")
        name = shorter
    return name


def short_notice_fields(
    fields: Mapping[str, str], texts: Iterator[str] | list[str], now: dt.datetime
) -> dict[str, str]:
    """Fields for a short message that has no item behind it (a staff notice, a test):
    ``time``/``date`` fields get ``now``, ``thing``/``keyword`` fields the ``texts`` in
    turn (cut to the type's limit), and if any field is still missing or refused by its
    type's rule the answer is ``{}`` — the caller sends the text fallback instead of a
    payload the service would answer with 47003."""
    pieces = iter(texts)
    stamp = now.strftime("%Y年%m月%d日 %H:%M")
    values: dict[str, str] = {}
    for key, kind in fields.items():
        if kind in ("time", "date"):
            values[key] = stamp
        elif kind == "thing":
            values[key] = next(pieces, "")[: FIELD_LIMITS["thing"]]
    try:
        return {} if field_problems(fields, values) else values
    except UnknownFieldTypeError:
        return {}
