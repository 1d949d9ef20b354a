"""Value types of the summary package: what goes in, what comes out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from pusher.summary.length import sms_segments


@dataclass(frozen=True)
class Notice:
    """A published item as the summariser sees it: plain text in, nothing else."""

    title: str
    body: str
    publisher: str = ""
    urgency: str = "normal"
    url: str | None = None
    published_at: dt.date | None = None
    #: the policy interpretation's link (政策解读), carried where there is room
    interpretation_url: str | None = None

    @property
    def urgent(self) -> bool:
        """True for urgent warnings (weather, emergencies)."""
        return self.urgency == "urgent"


@dataclass(frozen=True)
class Facts:
    """Key facts found in a notice body; every entry is an exact substring of the body."""

    deadlines: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    eligible: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    """A notice reduced to what a resident needs: title, facts and a one-sentence gist.

    ``title_units`` and ``lead_units`` are the unbreakable pieces (jieba words, whole
    numbers, dates, amounts, phone numbers) of ``title`` and ``lead``; renderers cut only
    between them.
    """

    title: str
    facts: Facts
    lead: str
    urgent: bool = False
    warning: str = ""
    publisher: str = ""
    published_at: dt.date | None = None
    title_units: tuple[str, ...] = field(default=(), repr=False)
    lead_units: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class ChannelTexts:
    """The text each channel would carry, for the preview before sending."""

    sms: str
    sms_segments: int
    wechat: dict[str, str]
    wecom: str
    #: the approved template filled for a template-mode SMS account (None: free text)
    sms_fill: SmsFill | None = None


@dataclass(frozen=True)
class VariableFill:
    """One variable's value and its length against its limit (for the preview)."""

    name: str
    role: str
    value: str
    length: int
    max_len: int


@dataclass(frozen=True)
class SmsFill:
    """The approved template an item goes out with, or why none fits (``reason``)."""

    purpose: str
    template: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    variables: tuple[VariableFill, ...] = ()
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when a template is filled within every limit."""
        return bool(self.template) and not self.reason

    @property
    def segments(self) -> int:
        """Billed segments of the text the resident reads."""
        return sms_segments(self.text)
