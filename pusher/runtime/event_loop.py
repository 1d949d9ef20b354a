"""The event loop a long-running process (serve, worker, emulator) runs on.

uvloop where it is installed (Linux and macOS; it is a dependency there), else
asyncio's own loop. ``PUSHER_EVENT_LOOP=asyncio`` chooses asyncio's loop anyway:
a way back if uvloop misbehaves on some machine, and the other side of a
comparison. Tests and short commands (``asyncio.run``) keep asyncio's loop.
"""

from __future__ import annotations

import asyncio
import logging

from pusher.settings import LoopChoice

log = logging.getLogger(__name__)


def new_loop(choice: LoopChoice = "uvloop") -> asyncio.AbstractEventLoop:
    """A new event loop of the kind chosen (asyncio's when uvloop is not installed)."""
    if choice == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.info("uvloop is not installed: asyncio's event loop is used")
        else:
            log.info("event loop: uvloop")
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()
