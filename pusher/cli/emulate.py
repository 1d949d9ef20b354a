"""``pusher emulate PROVIDER``: a provider emulator on localhost, with its defaults.

Which emulator runs comes from the provider's descriptor (``channels.registry``).
Fault injection and callback targets come from :class:`EmulatorOptions`
(``--error-rate``, ``--timeout-rate``, ``--accept-drop-rate``, ``--token-expiry-after``,
``--callback-url``, ``--callback-token``, ``--report-url`` on the command line), so a benchmark or a
manual test can run an emulator as its own process and still break it.
``--account FILE`` (YAML or JSON, see :mod:`channels.emulators.accounts`) says
what the account holds: signs and approved templates with their variables'
limits, followers, robot keys; without it the emulator takes any of them.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from aiohttp import web

from channels.emulators.options import EmulatorOptions
from channels.registry import by_cli
from pusher.runtime.event_loop import new_loop
from pusher.runtime.heap import settle_on_startup
from pusher.settings import LoopChoice

__all__ = ["EmulatorOptions", "emulator_app", "serve_emulator"]


def _module(provider: str) -> ModuleType:
    """The emulator module of ``provider`` (a command-line name); ``ValueError`` if none."""
    try:
        emulator = by_cli(provider).emulator
    except KeyError:
        emulator = None
    if emulator is None:
        raise ValueError(f"unknown provider {provider!r}")
    return importlib.import_module(emulator.module)  # emulators load only when emulating


def emulator_app(provider: str, options: EmulatorOptions | None = None) -> web.Application:
    """The emulator app for ``provider``, a command-line name of the registry (``aliyun-sms``).

    ``ValueError`` for a provider without an HTTP emulator, or when the options'
    account file cannot be read.
    """
    module = _module(provider)
    if not hasattr(module, "from_options"):
        raise ValueError(f"{provider} is not emulated over HTTP")
    app: web.Application = module.from_options(options or EmulatorOptions())
    return app


def serve_emulator(
    provider: str,
    *,
    port: int,
    host: str = "127.0.0.1",
    options: EmulatorOptions | None = None,
    loop: LoopChoice = "uvloop",
) -> int:
    """Run the emulator on ``host:port`` until interrupted (no access log: it costs CPU).

    An HTTP emulator offers ``from_options``, one over TCP (CMPP) ``serve_options``.
    An account file that cannot be read ends it at once with exit status 2.
    """
    module = _module(provider)
    if hasattr(module, "serve_options"):
        status: int = module.serve_options(options or EmulatorOptions(), host=host, port=port)
        return status
    try:
        app = emulator_app(provider, options)
    except ValueError as exc:
        print(f"账户文件无法读取：{exc}", file=sys.stderr)
        return 2
    app.on_startup.append(settle_on_startup)
    web.run_app(app, host=host, port=port, access_log=None, loop=new_loop(loop))
    return 0
