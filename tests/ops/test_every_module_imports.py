"""Every module of the four packages imports.

mypy's SQL overrides switch off ``attr-defined`` in most of ``pusher``, so a name imported
from a module that no longer defines it (a merge, a rename) is not caught there; this is.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

PACKAGES = ("pusher", "channels", "subscriptions", "rules")


def _modules() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if ".migrations.versions." in info.name:
                continue  # alembic loads these by path, with its own context
            names.append(info.name)
    return names


def test_the_walk_sees_every_layer() -> None:
    names = set(_modules())
    for expected in ("pusher.cli.main", "pusher.web.app", "pusher.runtime.worker",
                     "pusher.town.chats", "channels.cmpp.channel", "rules.classify"):
        assert expected in names


@pytest.mark.parametrize("name", _modules())
def test_module_imports(name: str) -> None:
    importlib.import_module(name)
