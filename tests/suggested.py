"""The suggested SMS template accounts (``docs/sms-templates``), as the strict emulators read
them: the tests that send through an approved template start from these."""

from __future__ import annotations

from pathlib import Path

from channels.emulators.accounts import SmsAccount, read_account

DOCS = Path(__file__).resolve().parents[1] / "docs" / "sms-templates"


def suggested_account(style: str) -> SmsAccount:
    """The ``aliyun`` or ``tencent`` account of the suggested templates."""
    found = read_account(f"{style}-sms", DOCS / f"{style}.yaml")
    assert isinstance(found, SmsAccount)
    return found
