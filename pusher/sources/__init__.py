"""County sources: where the county already publishes (政务公开 columns, feeds, platforms'
JSON), polled for new notices that become drafts for review.

- :mod:`.config` — a source as configured (kind, URL, region, domain, selectors, paths)
- :mod:`.fetch` — safe HTTP GETs: conditional, size-capped, timed out, rate-limited per host
- :mod:`.found` — one notice as read from a source (:class:`Found`), dates, digests
- :mod:`.htmlpages`, :mod:`.feed`, :mod:`.jsonsrc` — extraction per kind (sync, in a thread)
- :mod:`.store` — new, changed, gone: drafts, correction drafts, flags, duplicates merged
- :mod:`.poll` — one source's poll (or dry run), and the scheduled job over due sources

Errors: :class:`~pusher.sources.fetch.FetchError` (a fetch that failed: timeout, HTTP
error, too large, a redirect off http(s)) and :class:`~pusher.sources.found.ExtractError`
(a page or feed that cannot be read). Both carry a Chinese sentence that the source's
page shows; the poll records it on the source and goes on with the next one.
"""
