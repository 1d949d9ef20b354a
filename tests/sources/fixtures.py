# ruff: noqa: E501  (pages are kept as sites write them: long lines)
"""A county's websites on loopback: three site platforms, a feed, a JSON endpoint, and
the ways a site goes wrong (slow, 500, 20 MB, a redirect to ``file:``).

Pages are modelled on the real ones in ``shared/data/gov_pages`` (see its README):

- **TRS county site** (``/trs/…``, like 平潭/恩格贝): a static list in a ``<table>`` with
  ``./YYYYMM/tYYYYMMDD_N.html`` links and dates in the next cell, a second page
  ``index_1.html`` announced only by the pager script's ``countPage``; detail pages with
  the meta family (ArticleTitle, PubDate, ContentSource, ColumnName) and the
  ``index_box`` of ``label：<font>value</font>`` items padded with ``&ensp;``, a
  ``TRS_Editor`` body, attachments and a 解读 link.
- **Hanweb 大汉 site** (``/col/…``, ``/art/…``): ``<li>`` list with dates in spans,
  detail body between the ``ZJEG_RSS`` markers, ``发布日期：`` span, lower-case meta.
- **政务公开 index-table site** (``/gk/…``, no meta at all): ``<td>label</td><td>value</td>``
  index table (索引号, 发布机构, 生成日期, 文号), body in ``#zoom``.

Every answer carries an ETag (a digest of the body) and honours ``If-None-Match``;
``site.pages`` may be changed or deleted by a test between polls.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

from aiohttp import web

BODY_1 = "为做好2026年度城乡居民最低生活保障资金发放工作，现将有关事项通知如下。各村（社区）要于12月10日前完成复核。"
BODY_2 = "按照县委县政府部署，全县开展冬季安全生产大检查，各乡镇要压实责任，排查隐患。"
BODY_3 = "本镇2026年耕地地力保护补贴已核定，请各村于公示期内到村委会查看名单。"


def trs_detail(n: int, title: str, body: str, *, day: str, index: str, number: str) -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="SiteName" content="某某县人民政府"><meta name="SiteIDCode" content="3601230001">
<meta name="ColumnName" content="社会救助"><meta name="ColumnType" content="基层政务公开">
<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{day} 08:00">
<meta name="ContentSource" content="某某县民政局"><meta name="KeyWords" content="">
<title>{title}_社会救助_某某县人民政府</title></head><body>
<div class="index_box"><ul class="trt-row">
<li>索&ensp;引&ensp;号：<font>{index}</font></li>
<li>主题分类：<font id="zhuTi"></font></li>
<li>发文机关：<font>某某县民政局</font></li>
<li>成文日期：<font>2026-11-28</font></li>
<li>标&ensp;&ensp;&ensp;&ensp;题：<font>{title}</font></li>
<li>发文字号：<font>{number}</font></li>
<li>发布日期：<font>{day}</font></li>
<li>有&ensp;效&ensp;性：<em class="red_base">有效</em></li></ul></div>
<div class="article_title">{title}</div>
<span class="article_time">时间：{day} 08:00</span><span class="article_source">来源：某某县民政局</span>
<div class="article_content"><div class="TRS_Editor"><p class="MsoNormal">{body}</p>
<p class="MsoNormal">&nbsp;<o:p></o:p></p><p>联系电话：0791-0000000{n}</p></div></div>
<div class="article_attachment"><a href="./P020261201_{n}.pdf">附件1：名单.pdf</a>
<a href="./P020261201_{n}.xlsx">附件2：资金表.xlsx</a></div>
<div class="related"><a href="http://county.example/zcjd/">政策解读</a>
<a href="../../zcjd/202612/t20261201_9{n}.html">《{title}》政策解读</a></div>
</body></html>"""


def trs_list(rows: list[tuple[str, str, str]], *, count_page: int) -> str:
    cells = "".join(
        f'<tr><td></td><td><a href="{href}">{title}</a></td><td>{day}</td></tr>'
        for href, title, day in rows
    )
    return f"""<html><head><meta charset="utf-8"><title>社会救助</title></head><body>
<div class="nav"><a href="/trs/sy/">首页</a><a href="./201709/t20170912_1.html">网站声明</a></div>
<table><tbody>{cells}</tbody></table>
<script>var currentPage = 0;//所在页从0开始
var countPage = {count_page}//共多少页</script></body></html>"""


HANWEB_DETAIL = """<html><head><meta charset="utf-8">
<meta name="ArticleTitle" content="关于开展冬季安全生产大检查的通知"><meta name="PubDate" content="2026-12-02 09:53">
<meta name="contentSource" content="某某县应急管理局"><meta name="ColumnName" content="安全生产">
<title>关于开展冬季安全生产大检查的通知</title></head><body>
<p class="con-title"><!--<$[标题]>begin-->关于开展冬季安全生产大检查的通知<!--<$[标题]>end--></p>
<span>发布日期：2026-12-02</span><span>信息来源：某某县应急管理局</span>
<div id="zoom"><!--<$[信息内容]>begin--><!--ZJEG_RSS.content.begin--><meta name="ContentStart">
<p>BODY</p><p>&nbsp;</p><meta name="ContentEnd"><!--ZJEG_RSS.content.end--><!--<$[信息内容]>end--></div>
</body></html>""".replace("BODY", BODY_2)

HANWEB_LIST = """<html><head><meta charset="utf-8"></head><body><ul class="list">
<li><a href="/art/2026/12/2/art_1001_2001.html" title="关于开展冬季安全生产大检查的通知">关于开展冬季安全生产大检查的…</a><span>2026-12-02</span></li>
</ul></body></html>"""

GK_DETAIL = """<html><head><meta charset="utf-8"><title>某某镇2026年耕地地力保护补贴公示 - 某某镇人民政府</title></head>
<body><table class="gk-index"><tr><td>索引号</td><td>11360123MB0000000X/2026-00031</td>
<td>发布机构</td><td>某某镇人民政府</td></tr><tr><td>生成日期</td><td>2026-12-03</td>
<td>文号</td><td>某镇发〔2026〕12号</td></tr></table>
<h1>某某镇2026年耕地地力保护补贴公示</h1><div id="zoom"><p>BODY</p></div></body></html>""".replace(
    "BODY", BODY_3
)

GK_LIST = """<html><head><meta charset="utf-8"></head><body><table>
<tr><th>名称</th><th>索引号</th><th>发布日期</th></tr>
<tr><td><a href="/gk/content/post_3001.html">某某镇2026年耕地地力保护补贴公示</a></td>
<td>11360123MB0000000X/2026-00031</td><td>2026-12-03</td></tr></table></body></html>"""

FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<title>某某县政务公开</title><link>http://county.example/</link><description>通知公告</description>
<item><title>关于2026年冬季供暖保障工作的通告</title><link>LINK</link>
<description><![CDATA[<p>全县冬季供暖自11月15日起，如有问题请拨打12345。</p>]]></description>
<pubDate>Thu, 03 Dec 2026 02:00:00 GMT</pubDate></item></channel></rss>"""

JSON_LIST = """{"code": 0, "data": {"list": [{"doctitle": "关于公布2026年度养老服务补贴对象的公告",
"docurl": "/jsonsite/content/post_4001.html", "pubdate": "2026-12-04 10:00", "fileno": "县民字〔2026〕8号",
"idxid": "000014348/2026-00077", "content": "<p>经审核，下列老年人符合养老服务补贴条件，现予公布。</p>"}]}}"""


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"


@dataclass
class Site:
    """The fixture server's pages (path → page) and what it was asked."""

    pages: dict[str, Page] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    base: str = ""

    def put(self, path: str, text: str, content_type: str = "text/html; charset=utf-8") -> None:
        self.pages[path] = Page(text.encode(), content_type)


def county_pages(site: Site) -> None:
    """The three platforms, the feed and the JSON endpoint."""
    rows = [
        ("./202612/t20261201_1001.html", "关于做好2026年度城乡低保资金发放工作的通知", "2026-12-01"),
    ]
    site.put("/trs/shjz/index.html", trs_list(rows, count_page=2))
    site.put("/trs/shjz/index_1.html", trs_list(
        [("./202611/t20261130_1002.html", "关于调整临时救助标准的通知", "2026-11-30")], count_page=2
    ))  # fmt: skip
    site.put("/trs/shjz/202612/t20261201_1001.html", trs_detail(
        1, rows[0][1], BODY_1, day="2026-12-01", index="360123-0101-2026-00015",
        number="某民发〔2026〕15号",
    ))  # fmt: skip
    site.put("/trs/shjz/202611/t20261130_1002.html", trs_detail(
        2, "关于调整临时救助标准的通知", "自2027年1月1日起，临时救助标准调整为每人每次不超过2000元。",
        day="2026-11-30", index="360123-0101-2026-00014", number="某民发〔2026〕14号",
    ))  # fmt: skip
    site.put("/col/col1001/index.html", HANWEB_LIST)
    site.put("/art/2026/12/2/art_1001_2001.html", HANWEB_DETAIL)
    site.put("/gk/list.html", GK_LIST)
    site.put("/gk/content/post_3001.html", GK_DETAIL)
    site.put("/feed.xml", FEED.replace("LINK", site.base + "/feed/1.html"), "application/rss+xml")
    site.put("/feed/1.html", "<html><body>供暖</body></html>")
    site.put("/api/list.json", JSON_LIST, "application/json")
    site.put("/broken.xml", "<rss><channel><item><title>未闭合", "application/rss+xml")


async def _page(request: web.Request) -> web.StreamResponse:
    site: Site = request.app[SITE]
    site.requests.append((request.path, request.headers.get("If-None-Match")))
    page = site.pages.get(request.path)
    if page is None:
        raise web.HTTPNotFound()
    etag = '"' + hashlib.sha256(page.body).hexdigest()[:16] + '"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(body=page.body, headers={"ETag": etag, "Content-Type": page.content_type})


async def _slow(_request: web.Request) -> web.Response:
    await asyncio.sleep(10)
    return web.Response(text="late")


async def _error(_request: web.Request) -> web.Response:
    return web.Response(status=500, text="Internal Server Error")


async def _huge(request: web.Request) -> web.StreamResponse:
    """20 MB of list page, streamed without a Content-Length."""
    resp = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
    await resp.prepare(request)
    chunk = ("<p>" + "公开" * 5000 + "</p>").encode()
    for _ in range(20 * 1024 * 1024 // len(chunk) + 1):
        try:
            await resp.write(chunk)
        except (ConnectionResetError, RuntimeError):
            break
    return resp


async def _to_file(_request: web.Request) -> web.Response:
    raise web.HTTPFound("file:///etc/passwd")


SITE = web.AppKey("site", Site)


def site_app(site: Site) -> web.Application:
    app = web.Application()
    app[SITE] = site
    app.router.add_get("/slow", _slow)
    app.router.add_get("/error", _error)
    app.router.add_get("/huge", _huge)
    app.router.add_get("/tofile", _to_file)
    app.router.add_get("/{tail:.*}", _page)
    return app
