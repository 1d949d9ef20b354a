"""What ``pusher emulate`` tells an emulator: faults to inject, callback targets, the account.

Every emulator module offers ``from_options(options) -> web.Application``, which the
provider's descriptor names (``Emulator.module``), so ``pusher emulate`` and compose
start any registered emulator the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from channels.emulators.accounts import Account, read_account
from channels.emulators.common import Faults


@dataclass(frozen=True)
class EmulatorOptions:
    """Faults to inject and where to post callbacks.

    ``error_rate``/``timeout_rate``: shares of requests answered HTTP 500 or
    held past the client's timeout; ``accept_drop_rate``: share of requests handled
    in full whose answer is then lost (see :class:`Faults`); ``token_expiry_after``:
    (WeChat) a token expires after this many calls; ``callback_url``: (WeChat) where events are
    POSTed, signed with ``callback_token`` (our ``PUSHER_WECHAT__TOKEN``);
    ``report_url``: (SMS) where delivery reports are POSTed;
    ``account_file``: what the account holds (None: anything goes).
    """

    error_rate: float = 0.0
    timeout_rate: float = 0.0
    accept_drop_rate: float = 0.0
    token_expiry_after: int | None = None
    callback_url: str | None = None
    callback_token: str = ""
    report_url: str | None = None
    account_file: Path | None = None

    def account(self, provider: str) -> Account | None:
        """The account read from ``account_file``; ``ValueError`` if it cannot be."""
        if self.account_file is None:
            return None
        try:
            return read_account(provider, self.account_file)
        except OSError as exc:
            raise ValueError(f"{self.account_file}: {exc.strerror}") from exc

    def faults(self) -> Faults:
        return Faults(
            server_error=self.error_rate,
            timeout=self.timeout_rate,
            accept_drop=self.accept_drop_rate,
            token_expiry_after=self.token_expiry_after,
        )
