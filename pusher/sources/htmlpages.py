"""HTML list pages and detail pages of county disclosure columns (selectolax, sync: the
poller runs these in a thread).

Without configuration a list page gives the links that look like detail pages of the
common platforms (TRS ``tYYYYMMDD_N.htm``, Hanweb ``art/Y/M/D/art_C_N.html``, gkmlpt
``content/post_N.html``), and a detail page its ``ArticleTitle``/``PubDate``/
``ContentSource``/``ColumnName`` meta, the 政府信息公开 index table (索引号, 发文机关,
成文日期, 发文字号 … under any of their label variants), the body from the usual
containers (Hanweb's ``ZJEG_RSS`` markers first), attachments and the interpretation
(解读) link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from pusher.sources.config import SourceConfig
from pusher.sources.fetch import web_url
from pusher.sources.found import ExtractError, Found, clean_label, date_in_url, parse_date

_DETAIL = re.compile(
    r"/t\d{8}_\d+\.s?html?$|/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html$|/content/post_\d+\.html$"
)
_COUNT_PAGE = re.compile(r"countPage\s*=\s*(\d+)")
_HANWEB = re.compile(r"<!--ZJEG_RSS\.content\.begin-->(.*?)<!--ZJEG_RSS\.content\.end-->", re.S)
_BODIES = (
    ".TRS_Editor", ".article_content", "#zoom", ".pages_content", ".article-body",
    "#UCAP-CONTENT", ".content", "article",
)  # fmt: skip
_TITLES = (".article_title", ".con-title", "h1", ".title", "h2")
_FILES = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".wps", ".et", ".ofd", ".zip", ".rar")
_COLUMN_LINKS = {"政策解读", "文字解读", "图片解读", "图文解读", "视频解读", "数据解读", "解读回应"}
LABELS = {
    "索引号": "index_number",
    "主题分类": "topic", "组配分类": "topic", "信息分类": "topic",
    "发文机关": "publisher", "发布机构": "publisher", "发文机构": "publisher",
    "发布机关": "publisher", "信息来源": "publisher", "来源": "publisher",
    "成文日期": "formed_at", "生成日期": "formed_at", "发文日期": "formed_at",
    "发文字号": "doc_number", "文号": "doc_number",
    "发布日期": "published_at", "发布时间": "published_at", "时间": "published_at",
    "标题": "title", "名称": "title",
}  # fmt: skip
_LABELLED = re.compile("(?:" + "|".join(sorted(LABELS, key=len, reverse=True)) + ")[:：]")
_EMPTY = {"", "无", "-", "—"}


@dataclass
class ListPage:
    """A list page: its notices (URL, title, date) and further pages."""

    links: list[Found] = field(default_factory=list)
    next_urls: list[str] = field(default_factory=list)


def read_list(html: str, *, url: str, config: SourceConfig) -> ListPage:
    """The notices a list page links to, and the pages after it."""
    tree = LexborHTMLParser(html)
    page = ListPage()
    seen: set[str] = set()
    for a in _list_anchors(tree, config):
        href = urljoin(url, a.attributes.get("href") or "")
        title = (a.attributes.get("title") or a.text(strip=True)).strip()
        if href in seen or not title or not web_url(href):
            continue
        seen.add(href)
        row = _row(a).text(separator=" ")
        page.links.append(Found(url=href, title=title[:200], published_at=parse_date(row)))
    if not config.item_selector and any(f.published_at for f in page.links):
        # a column lists its notices with dates; undated matches are the site's own pages
        page.links = [f for f in page.links if f.published_at is not None]
    page.next_urls = _next_pages(tree, url=url, config=config)
    return page


def _row(a: LexborNode) -> LexborNode:
    """The list row a link is in (its ``tr``, ``li`` or ``dl``; else its parent)."""
    node: LexborNode | None = a
    for _ in range(4):
        node = node.parent if node is not None else None
        if node is not None and node.tag in ("tr", "li", "dl"):
            return node
    return a.parent or a


def _list_anchors(tree: LexborHTMLParser, config: SourceConfig) -> list[LexborNode]:
    if config.item_selector:
        nodes = tree.css(config.item_selector)
        return [n if n.tag == "a" else n.css_first("a[href]") for n in nodes if n is not None]
    return [a for a in tree.css("a[href]") if _DETAIL.search(a.attributes.get("href") or "")]


def _next_pages(tree: LexborHTMLParser, *, url: str, config: SourceConfig) -> list[str]:
    if config.next_selector:
        nodes = tree.css(config.next_selector)
    else:
        nodes = [a for a in tree.css("a[href]") if "下一页" in a.text()]
    found = [urljoin(url, n.attributes.get("href") or "") for n in nodes]
    if not found:
        count = _COUNT_PAGE.search(tree.html or "")
        if count is not None:
            pages = min(int(count.group(1)), config.max_pages)
            found = [urljoin(url, f"index_{n}.html") for n in range(1, pages)]
    return [u for u in found if web_url(u) and u != url]


def read_detail(html: str, *, url: str, config: SourceConfig) -> Found:
    """A detail page as a :class:`Found` (:class:`ExtractError` without a title or body)."""
    tree = LexborHTMLParser(html)
    meta = _meta(tree)
    index = index_fields(tree)
    title = _title(tree, config, meta, index)
    body = _body(tree, html, config)
    if not title or not body:
        raise ExtractError("页面里找不到标题或正文，请为该来源配置标题和正文选择器")
    return Found(
        url=url,
        title=title[:200],
        body=body,
        published_at=_published(tree, config, meta, index, url),
        formed_at=parse_date(index.get("formed_at")),
        publisher=(meta.get("contentsource") or index.get("publisher") or None),
        index_number=index.get("index_number"),
        doc_number=index.get("doc_number"),
        topic=index.get("topic"),
        column=meta.get("columnname") or None,
        attachments=attachments(tree, url=url),
        interpretation_url=interpretation_link(tree, url=url),
    )


def _meta(tree: LexborHTMLParser) -> dict[str, str]:
    """``<meta name content>`` by lower-cased name; the first non-empty value wins."""
    found: dict[str, str] = {}
    for node in tree.css("meta[name]"):
        name = (node.attributes.get("name") or "").lower()
        value = (node.attributes.get("content") or "").strip()
        if value and name not in found:
            found[name] = value
    return found


def index_fields(tree: LexborHTMLParser) -> dict[str, str]:
    """The 政府信息公开 index table's fields (``label：value`` in one element, or a label
    cell followed by its value cell), by our field name; the first value wins."""
    found: dict[str, str] = {}
    for node in tree.css("li, p, td, th, dt, dd, span, div"):
        text = " ".join(node.text(separator=" ").split())
        if len(text) > 150:
            continue
        label, sep, value = re.sub(r"\s*([:：])\s*", r"\1", text).partition("：")
        if not sep:
            label, sep, value = text.partition(":")
        key = LABELS.get(clean_label(label))
        if key is None:
            continue
        if not value and node.tag in ("td", "th") and node.next is not None:
            value = _next_cell(node)
        value = value.strip()
        if key not in found and value not in _EMPTY and not _LABELLED.search(value):
            found[key] = value[:200]
    return found


def _next_cell(node: LexborNode) -> str:
    sibling = node.next
    while sibling is not None and sibling.tag not in ("td", "th"):
        sibling = sibling.next
    return sibling.text(strip=True) if sibling is not None else ""


def _title(
    tree: LexborHTMLParser, config: SourceConfig, meta: dict[str, str], index: dict[str, str]
) -> str:
    if config.title_selector and (node := tree.css_first(config.title_selector)):
        return " ".join(node.text().split())
    if meta.get("articletitle"):
        return meta["articletitle"]
    if index.get("title"):
        return index["title"]
    for selector in _TITLES:
        node = tree.css_first(selector)
        if node is not None and (text := " ".join(node.text().split())):
            return text
    node = tree.css_first("title")  # "标题_栏目_网站": the first part
    return re.split(r"_|\s[-|]\s", node.text(strip=True))[0].strip() if node else ""


def _published(
    tree: LexborHTMLParser,
    config: SourceConfig,
    meta: dict[str, str],
    index: dict[str, str],
    url: str,
) -> datetime | None:
    node = tree.css_first(config.date_selector) if config.date_selector else None
    if node is not None and (when := parse_date(node.text())) is not None:
        return when
    for text in (meta.get("pubdate"), index.get("published_at"), meta.get("firstpublishedtime")):
        if (when := parse_date(text)) is not None:
            return when
    return date_in_url(url)


def _body(tree: LexborHTMLParser, html: str, config: SourceConfig) -> str:
    if config.body_selector:
        node = tree.css_first(config.body_selector)
        return block_text(node) if node is not None else ""
    marked = _HANWEB.search(html)
    if marked is not None:
        root = LexborHTMLParser(f"<div>{marked.group(1)}</div>").css_first("div")
        if root is not None and (text := block_text(root)):
            return text
    for selector in _BODIES:
        node = tree.css_first(selector)
        if node is not None and len(text := block_text(node)) >= 20:
            return text
    return ""


def block_text(node: LexborNode) -> str:
    """The text of ``node`` with a line per paragraph, line break, cell or list item."""
    node = node.clone() or node
    for junk in node.css("script, style, noscript"):
        junk.decompose()
    for br in node.css("br"):
        br.replace_with("\n")
    for block in node.css("p, div, li, tr, h1, h2, h3, h4, table"):
        block.insert_after("\n")
    lines = (" ".join(line.split()) for line in node.text().replace("\u3000", " ").split("\n"))
    return "\n".join(line for line in lines if line)


def attachments(tree: LexborHTMLParser, *, url: str) -> list[dict[str, str]]:
    """Links to documents (PDF, DOC, XLS …) on the page: linked, never copied."""
    found: dict[str, dict[str, str]] = {}
    for a in tree.css("a[href]"):
        href = urljoin(url, a.attributes.get("href") or "")
        path = urlsplit(href).path.lower()
        if web_url(href) and path.endswith(_FILES) and href not in found:
            name = a.text(strip=True) or path.rsplit("/", 1)[-1]
            found[href] = {"name": name[:200], "url": href}
    return list(found.values())


def interpretation_link(tree: LexborHTMLParser, *, url: str) -> str | None:
    """The page's link to its interpretation (text with 解读, not a column's link)."""
    for a in tree.css("a[href]"):
        text = a.text(strip=True)
        if "解读" not in text or text in _COLUMN_LINKS:
            continue
        href = urljoin(url, a.attributes.get("href") or "")
        path = urlsplit(href).path
        column = path.endswith(("/", "index.html", "index.htm")) or "/col/" in path
        if web_url(href) and href != url and not column:
            return href
    return None
