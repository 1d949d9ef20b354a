"""Cookie flags shared by the console's session cookie and residents' WeChat cookie."""

from __future__ import annotations


def cookie_secure(explicit: bool | None, public_url: str) -> bool:
    """The ``Secure`` flag: as configured, else on when the site is served over https."""
    return explicit if explicit is not None else public_url.lower().startswith("https://")
