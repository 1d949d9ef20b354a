"""The CMPP gateway emulator's faults to inject and the counts it keeps for tests."""

from __future__ import annotations

from dataclasses import dataclass

from channels.emulators.common import AcceptDrop, Faults


@dataclass
class GatewayFaults(AcceptDrop):
    """What goes wrong, on purpose (see the module doc); ``accept_drop``: SUBMITs taken
    (recorded, reported later) whose SUBMIT_RESP never comes, or the link is cut."""

    refuse_login: int | None = None
    slow_ack_seconds: float = 0.0
    drop_after_submits: int | None = None
    no_reports: bool = False
    ignore_active_test: bool = False
    flow_control: float = 0.0
    error: float = 0.0
    report_failure: float = 0.0


def faults_from(common: Faults) -> GatewayFaults:
    """The HTTP emulators' fault shares in CMPP terms: a server error is SUBMIT Result 9,
    throttling is flow control (8), slowness delays SUBMIT_RESPs, failed receipts UNDELIV,
    a lost answer a SUBMIT taken without its SUBMIT_RESP."""
    return GatewayFaults(
        slow_ack_seconds=common.slow_seconds,
        flow_control=common.throttle,
        error=common.server_error,
        report_failure=common.receipt_failure,
        accept_drop=common.accept_drop,
        accept_drop_way=common.accept_drop_way,
        seed=common.seed,
    )


@dataclass
class Stats:
    """Counts a test can assert on."""

    connections: int = 0
    logins: int = 0
    refused_logins: int = 0
    submits: int = 0
    max_in_flight: int = 0
    over_window: int = 0
    active_tests: int = 0
    garbled: int = 0
    dropped: int = 0
    accept_dropped: int = 0
    reports_sent: int = 0
    delivers_resent: int = 0
    active_test_answers: int = 0
