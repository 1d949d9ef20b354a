"""The contract every channel keeps, run against each one's emulator (see ``specs.SPECS``).

``send`` returns one outcome per message in order, with a provider id on each
acceptance; provider trouble is transient, a bad recipient permanent for that
recipient only, wrong credentials fatal; more than ``limits.batch_size`` is
the caller's to split, the rest the channel splits into provider calls itself;
content within the provider's limit arrives intact and content over it is
refused permanently; receipts carry the ids the send handed out. A template account
(Aliyun, Tencent) is sent to as pushes are: through its approved notice template,
the content in its title variable (``Spec.form``), against a strict emulator.
"""

from __future__ import annotations

import asyncio

import pytest

from channels.base import Accepted, FatalError, Outcome, PermanentError, Rejected, TransientError
from tests.channels.rigs import Options, Spec, messages, options, running
from tests.channels.specs import SPECS

pytestmark = pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])


def accepted(outcomes: list[Outcome]) -> list[Accepted]:
    assert all(isinstance(o, Accepted) for o in outcomes), outcomes
    return [o for o in outcomes if isinstance(o, Accepted)]


def arrived(spec: Spec, got: str, text: str) -> bool:
    """Whether ``text`` arrived whole: at the end, or in its template's title variable."""
    return f"：{text}，" in got if spec.form is not None else got.endswith(text)


async def test_each_message_gets_a_provider_id_in_order(spec: Spec) -> None:
    batch = messages(spec, 7)
    async with running(spec) as rig:
        outcomes = await rig.channel.send(batch)
        received = rig.received()
    ids = [o.provider_id for o in accepted(outcomes)]
    assert [o.key for o in outcomes] == [m.key for m in batch]
    assert all(ids) and len(set(ids)) == len(ids)
    assert received == {m.recipient: [received[m.recipient][0]] for m in batch}
    assert all(m.text in received[m.recipient][0] for m in batch)


@pytest.mark.parametrize("fault", ["server_error", "throttle"])
async def test_provider_trouble_is_transient_for_every_message(spec: Spec, fault: str) -> None:
    if spec.name == "sandbox":
        pytest.skip("the sandbox has no provider to be in trouble")
    async with running(spec, options(**{fault: 1.0})) as rig:
        outcomes = await rig.channel.send(messages(spec, 3))
        received = rig.received()
    assert [o.key for o in outcomes] == ["k0", "k1", "k2"]
    errors = [o.error for o in outcomes if isinstance(o, Rejected)]
    assert len(errors) == 3 and all(isinstance(e, TransientError) for e in errors)
    assert received == {}


async def test_a_bad_recipient_fails_alone_and_permanently(spec: Spec) -> None:
    if spec.bad_recipient is None:
        pytest.skip("this channel refuses no recipient")
    batch = messages(spec, 4)
    batch[2] = spec.message("bad", spec.bad_recipient, "低保复核公示")
    async with running(spec) as rig:
        outcomes = await rig.channel.send(batch)
        received = rig.received()
    assert [o.key for o in outcomes] == ["k0", "k1", "bad", "k3"]
    bad = outcomes[2]
    assert isinstance(bad, Rejected)
    assert isinstance(bad.error, PermanentError) and not isinstance(bad.error, FatalError)
    accepted(outcomes[:2] + outcomes[3:])
    assert sorted(received) == sorted(m.recipient for m in batch if m.key != "bad")


async def test_wrong_credentials_are_fatal(spec: Spec) -> None:
    if spec.fatal_code is None:
        pytest.skip("this channel has no credentials to get wrong")
    async with running(spec, Options(secret="not-the-secret")) as rig:
        outcomes = await rig.channel.send(messages(spec, 3))
        received = rig.received()
    errors = [o.error for o in outcomes if isinstance(o, Rejected)]
    assert len(errors) == 3
    assert {(type(e), e.code) for e in errors} == {(FatalError, spec.fatal_code)}
    assert received == {}


async def test_more_than_a_batch_is_split_by_the_caller(spec: Spec) -> None:
    async with running(spec) as rig:
        size = rig.channel.limits.batch_size
        batch = messages(spec, size + 1)
        outcomes = [
            o
            for i in range(0, len(batch), size)
            for o in await rig.channel.send(batch[i : i + size])
        ]
        received, calls = rig.received(), rig.calls()
    ids = [o.provider_id for o in accepted(outcomes)]
    assert len(set(ids)) == len(batch)
    assert sum(len(texts) for texts in received.values()) == len(batch)
    assert sum(calls) == len(batch) and max(calls) <= spec.per_call


async def test_distinct_texts_reach_their_own_recipients(spec: Spec) -> None:
    async with running(spec) as rig:
        n = min(rig.channel.limits.batch_size, 250)
        batch = [
            spec.message(m.key, m.recipient, f"第{i}号通知")
            for i, m in enumerate(messages(spec, n))
        ]
        outcomes = await rig.channel.send(batch)
        received, calls = rig.received(), rig.calls()
    accepted(outcomes)
    assert all(received[m.recipient] == [received[m.recipient][0]] for m in batch)
    assert all(arrived(spec, received[m.recipient][0], m.text) for m in batch)
    assert sum(calls) == n


async def test_content_within_the_limit_arrives_and_over_it_is_refused(spec: Spec) -> None:
    if spec.max_content is None:
        pytest.skip("no content limit is enforced for this channel")
    fits = "通" * spec.max_content
    async with running(spec) as rig:
        ok = await rig.channel.send(messages(spec, 1, text=fits))
        over = await rig.channel.send(messages(spec, 1, text=fits + "通", start=1))
        received = rig.received()
    accepted(ok)
    assert arrived(spec, received[spec.recipient(0)][0], fits)
    assert isinstance(over[0], Rejected)
    assert isinstance(over[0].error, PermanentError) and not isinstance(over[0].error, FatalError)
    assert spec.recipient(1) not in received


async def test_receipts_carry_the_ids_of_the_send(spec: Spec) -> None:
    if spec.parse_receipt is None:
        pytest.skip("this provider sends no receipts: acceptance is final")
    async with running(spec) as rig:
        outcomes = await rig.channel.send(messages(spec, 5))
        for _ in range(200):
            if sum(len(b.receipts) for b in rig.receipts) >= 5:
                break
            await asyncio.sleep(0.02)
        receipts = [r for b in rig.receipts for r in b.receipts]
    assert rig.channel.receipts
    assert {r.provider_id for r in receipts} == {o.provider_id for o in accepted(outcomes)}
    assert all(r.delivered for r in receipts)
