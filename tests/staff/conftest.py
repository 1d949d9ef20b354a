"""Staff notices run on both databases (the claim is an upsert written per dialect)."""

from __future__ import annotations

import pytest

from pusher.settings import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.production)])
def either_settings(request: pytest.FixtureRequest) -> Settings:
    name = "sqlite_settings" if request.param == "sqlite" else "production_settings"
    settings: Settings = request.getfixturevalue(name)
    return settings
