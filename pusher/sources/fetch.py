"""Safe GETs of county pages: conditional, timed out, size-capped, rate-limited per host.

A fetch follows at most :attr:`Fetcher.max_redirects` redirects itself, each to an
http(s) URL only (a ``file:``, ``ftp:`` or ``javascript:`` target is refused), streams
the body and stops beyond ``max_bytes`` (after decompression, so a small gzip bomb is
no way around it), and waits ``per_host_interval`` seconds between two requests to one
host. ``etag`` / ``last_modified`` make the request conditional; a 304 answer is a
:class:`Page` with ``status`` 304 and no body.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

USER_AGENT = "pusher/0.1 (政务公开精准推送; 读取本县已公开的信息)"
_REDIRECTS = {301, 302, 303, 307, 308}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)


class FetchError(Exception):
    """A fetch that failed; ``str()`` is the sentence the source's page shows, ``status``
    the HTTP status when the site answered one (404/410 mean the page is gone)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Page:
    url: str
    status: int
    body: bytes = b""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    def text(self) -> str:
        """The body as text: the declared charset, else the page's meta, else UTF-8
        (GB18030 when UTF-8 does not fit: older county sites are GBK)."""
        charset = self.charset
        if charset is None:
            m = _META_CHARSET.search(self.body[:4096])
            charset = m.group(1).decode() if m else None
        for candidate in (charset, "utf-8", "gb18030"):
            if candidate is None:
                continue
            try:
                return self.body.decode(candidate)
            except (LookupError, UnicodeDecodeError):
                continue
        return self.body.decode("utf-8", errors="replace")


def fetcher_for(session: aiohttp.ClientSession, hosts: list[str]) -> Fetcher:
    """The fetcher the poller and the fetch-now buttons use, limited to ``hosts`` if any."""
    return Fetcher(session, hosts=frozenset(h.lower() for h in hosts))


def web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class HostPacer:
    """At most one request per ``interval`` seconds to each host (this process)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    async def wait(self, host: str) -> None:
        lock = self._locks.setdefault(host, asyncio.Lock())
        async with lock:
            delay = self._last.get(host, -1e9) + self.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last[host] = time.monotonic()


class Fetcher:
    """GETs county pages over ``session`` within the limits above."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout: float = 20.0,
        max_bytes: int = 5 * 1024 * 1024,
        per_host_interval: float = 1.0,
        max_redirects: int = 5,
        hosts: frozenset[str] = frozenset(),
    ) -> None:
        self.session = session
        #: when not empty, the only hosts fetched (``PUSHER_SOURCE_HOSTS``), redirects too
        self.hosts = hosts
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.pacer = HostPacer(per_host_interval)
        self.max_redirects = max_redirects

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Page:
        """The page at ``url`` (following redirects), or :class:`FetchError`."""
        headers = {"User-Agent": USER_AGENT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _ in range(self.max_redirects + 1):
            if not web_url(url):
                raise FetchError(f"只能读取 http 或 https 网址：{url[:200]}")
            if self.hosts and (urlsplit(url).hostname or "") not in self.hosts:
                raise FetchError(f"主机不在允许读取的列表中（PUSHER_SOURCE_HOSTS）：{url[:200]}")
            await self.pacer.wait(urlsplit(url).hostname or "")
            page = await self._once(url, headers)
            if isinstance(page, Page):
                return page
            url = page
        raise FetchError("重定向次数过多")

    async def _once(self, url: str, headers: dict[str, str]) -> Page | str:
        """The page, or the URL a redirect points to."""
        limit = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with self.session.get(
                url, headers=headers, allow_redirects=False, timeout=limit
            ) as resp:
                if resp.status in _REDIRECTS:
                    return urljoin(url, resp.headers.get("Location", ""))
                return await self._page(url, resp)
        except TimeoutError as exc:
            raise FetchError(f"读取超时（超过 {self.timeout:g} 秒）") from exc
        except aiohttp.ClientError as exc:
            raise FetchError(f"无法连接：{type(exc).__name__}") from exc

    async def _page(self, url: str, resp: aiohttp.ClientResponse) -> Page:
        etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
        if resp.status == 304:
            return Page(url, 304, etag=etag, last_modified=modified)
        if resp.status != 200:
            raise FetchError(f"网站返回 HTTP {resp.status}", status=resp.status)
        if (resp.content_length or 0) > self.max_bytes:
            raise FetchError(f"页面超过 {self.max_bytes // (1024 * 1024)} MB 的上限")
        chunks, size = [], 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"页面超过 {self.max_bytes // (1024 * 1024)} MB 的上限")
            chunks.append(chunk)
        body = b"".join(chunks)
        return Page(url, 200, body, resp.charset, etag=etag, last_modified=modified)
