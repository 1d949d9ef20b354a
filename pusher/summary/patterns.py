"""Regular expressions for the facts of Chinese notices.

The same patterns mark the spans that must never be cut (numbers, dates, amounts,
phone numbers, links), so extraction and truncation always agree on what a unit is.
"""

from __future__ import annotations

import re

_CN_DIGIT = "〇零一二三四五六七八九十"
_TIME = r"(?:\s?(?:上午|下午|晚上|凌晨)?\d{1,2}(?::|：|时|点)(?:\d{1,2}分?)?(?!\d))?"
_DATE_CORE = (
    r"(?<!\d)(?<!\d[-－~～])(?:"
    r"(?:\d{4}年)?\d{1,2}月\d{1,2}[日号]"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?!\d)"
    r"|\d{4}年\d{1,2}月(?!\d)"
    r"|\d{1,2}日(?=\d{1,2}(?:时|:|：))"
    rf"|[{_CN_DIGIT}]{{4}}年[{_CN_DIGIT}]{{1,2}}月(?:[{_CN_DIGIT}]{{1,3}}[日号])?"
    r")"
)
DATE = _DATE_CORE + _TIME
_RANGE_END = r"(?:" + DATE + r"|\d{1,2}[日号])"
_DEADLINE_PREFIX = r"(?:截[止至](?:日期|时间)?(?:为|到|至)?[：:]?\s?)?"
_DEADLINE_SUFFIX = r"(?:底|末|初|上旬|中旬|下旬)?(?:之前|以前|前|为止|止|截止|起|开始)?"
DEADLINE_RE = re.compile(
    r"即日起(?:至" + DATE + _DEADLINE_SUFFIX + r")?"
    r"|"
    + _DEADLINE_PREFIX
    + DATE
    + r"(?:\s?(?:至|到|—|–|-|~|～)\s?"
    + _RANGE_END
    + r")?"
    + _DEADLINE_SUFFIX
)

_PER = r"(?:(?:每(?:人|户|亩|年|月|季度?|次|天|位|名|头|平方米|立方米)){1,3}"
_PER += r"(?:补贴|补助|发放|缴纳|缴费|标准为?|为)?)?"
_MONEY = r"(?:人民币)?(?<![\d.])(?<!\d[-－~～])\d+(?:,\d{3})*(?:\.\d+)?"
_MONEY += r"(?:多|余)?(?:万|亿|千)?(?:多|余)?元"
_PER_UNIT = r"(?:/(?:人|户|亩|年|月|次|天|平方米)(?:[·/](?:年|月))?)?"
AMOUNT_RE = re.compile(
    _PER + _MONEY + _PER_UNIT + r"(?:以上|以下|以内|左右)?" + r"|[¥￥]\d+(?:\.\d+)?"
)

# A phone number is never the head or tail of a longer run like 0100000791-10000000.
_ALONE_BEFORE = r"(?<!\d)(?<!\d[-－])"
_ALONE_AFTER = r"(?!\d)(?![-－]\d)"
_MOBILE = _ALONE_BEFORE + r"1[3-9]\d(?:[-\s]?\d{4}){2}" + _ALONE_AFTER
_LANDLINE = (
    _ALONE_BEFORE
    + r"(?:[(（]0\d{2,3}[)）]|0\d{2,3}[-－—]?)\d{7,8}(?:(?:-|－|转)\d{1,5})?"
    + _ALONE_AFTER
)
PHONE_RE = re.compile(_MOBILE + "|" + _LANDLINE)
# Short hotlines (12345) and local numbers only count as phones after a contact word.
CONTEXT_PHONE_RE = re.compile(
    r"(?:电话|热线|拨打|联系方式)[：:为是]?\s?(?P<num>400-?\d{3}-?\d{4}|12\d{3}|96\d{3,5}|\d{7,8})(?!\d)"
)

_PLACE_ANY = (
    r"村委会|村民委员会|居委会|居民委员会|便民服务中心|党群服务中心|政务服务中心"
    r"|社区服务中心|服务中心|办事大厅|服务大厅|服务窗口|窗口|卫生院|卫生室|派出所"
    r"|社保所|财政所|人民政府|镇政府|乡政府|办事处|医院|学校|礼堂|广场|活动室"
)
PLACE_CONTEXT_RE = re.compile(
    r"(?:前往|到|至|赴|在|地点[为是：:]?|地址[为是：:]?)\s?"
    r"(?P<p>(?:所在|[^\s，。；、：:！？,;.（）()\d到至在赴往]){0,16}?(?:" + _PLACE_ANY + r"))"
)
PLACE_BARE_RE = re.compile(
    r"村委会|村民委员会|居委会|便民服务中心|党群服务中心|政务服务中心|办事大厅|服务大厅|卫生院"
)

_GROUP = (
    r"老年人|老人|村民|居民|家庭|农户|农民|群众|人员|职工|学生|儿童|妇女|残疾人|困难户"
    r"|低保户|特困人员|脱贫户|参保人员|参保人|申请人|自然人|个体工商户|企业|退役军人|对象"
)
_STOP = r"\s，。；、：:！？,;"
ELIGIBLE_RES = (
    re.compile(rf"凡(?:是)?(?P<e>[^{_STOP}]{{2,40}})"),
    re.compile(
        r"(?:补贴|发放|申请|救助|服务|参保|缴费|适用|保障)对象(?:为|是|[：:])\s?"
        rf"(?P<e>[^{_STOP}]{{2,40}})"
    ),
    re.compile(rf"(?P<e>[^{_STOP}]{{1,24}}?的(?:{_GROUP}))"),
    re.compile(rf"(?<!\d)(?P<e>(?:年满)?\d{{1,3}}(?:周岁|岁)(?:以上|及以上|以下)?的?(?:{_GROUP}))"),
)
ELIGIBLE_LEADING_JUNK = re.compile(r"^(?:请|对于|对|向|为|给|由|经|凡是|凡|即|各)+")

WARNING_RE = re.compile(
    r"(?:雷雨大风|暴雨|大风|雷电|台风|高温|寒潮|大雾|霾|冰雹|道路结冰|干旱|霜冻|沙尘暴|暴雪"
    r"|森林火险|地质灾害|山洪灾害|低温|强对流)(?:红色|橙色|黄色|蓝色)预警"
)

URL_RE = re.compile(r"https?://[^\s，。；、！？“”\"'<>()（）【】\[\]]+")
# Atomic: a run of digits is taken whole or not at all, never a prefix of it.
NUMBER_RE = re.compile(r"(?>\d+(?:[.,:：/\-－~～—]\d+)*)(?:%|％)?")
ASCII_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.'-]*")

# Facts first, so that in "3.2019年5月31日" the date wins over the list number "3.2019";
# plain numbers and Latin words are only looked for between them.
FACT_SPAN_RE = re.compile("|".join(p.pattern for p in (URL_RE, PHONE_RE, DEADLINE_RE, AMOUNT_RE)))
TOKEN_SPAN_RE = re.compile(NUMBER_RE.pattern + "|" + ASCII_WORD_RE.pattern)
