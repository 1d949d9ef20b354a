"""The residents' side runs on both databases: embedded SQLite, then production
PostgreSQL and Redis (as the fan-out and report tests do)."""

from __future__ import annotations

import pytest

from pusher.settings import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.production)])
def either_settings(request: pytest.FixtureRequest) -> Settings:
    """Embedded SQLite, then production PostgreSQL and Redis."""
    name = "sqlite_settings" if request.param == "sqlite" else "production_settings"
    settings: Settings = request.getfixturevalue(name)
    return settings
