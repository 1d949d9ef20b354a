"""CMPP 2.0 codec: round trips, bounds, segments, and the worked example of docs/cmpp.md.

Expected bytes are written out field by field from the specification's layouts
(see docs/cmpp.md), not produced by the code under test.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import pytest

from channels.cmpp.pdus import Deliver, Report, Resp, Submit, make_msg_id
from channels.cmpp.protocol import (
    MAX_PDU,
    Command,
    Connect,
    ConnectResp,
    ProtocolError,
    authenticator_source,
    decode_header,
    encode,
)
from channels.cmpp.segments import Part, Reassembler, decode, parse, split

# The worked example: SP 901234, shared secret "secret", login on 12-06 15:21:30.
SP, SECRET, STAMP = "901234", "secret", 1206152130
TEXT = (
    "【青山镇】"
    + "低保复核公示：请各村于十二月十日前将名单报镇民政办。" * 2
    + "咨询电话：0571-88886666。"
)


def h(*parts: str) -> bytes:
    return bytes.fromhex("".join(parts).replace(" ", ""))


def test_connect_matches_the_worked_example() -> None:
    auth = hashlib.md5(b"901234" + bytes(9) + b"secret" + b"1206152130").digest()
    pdu = encode(Command.CONNECT, 1, Connect(SP, auth, 0x20, STAMP).pack())
    assert pdu == h(
        "00000027 00000001 00000001",  # Total_Length 39, CMPP_CONNECT, Sequence_Id 1
        "393031323334",  # Source_Addr "901234"
        "63343afc134dac19af4526c448674200",  # AuthenticatorSource
        "20",  # Version 2.0
        "47e46bc2",  # Timestamp 1206152130
    )
    assert authenticator_source(SP, SECRET, STAMP) == auth
    assert Connect.login(SP, SECRET, datetime(2026, 12, 6, 15, 21, 30)).pack() == pdu[12:]


def test_a_two_segment_submit_matches_the_worked_example() -> None:
    assert len(TEXT) == 76  # more than 70: two segments, 67 + 9
    ucs2 = TEXT.encode("utf-16-be")
    segments = split(TEXT, ref=0x2A)
    assert [(s.total, s.number, s.udhi) for s in segments] == [(2, 1, 1), (2, 2, 1)]
    fixed = (
        "0000000000000000 02 {n} 01 00",  # Msg_Id 0, Pk_total 2, Pk_number, report, level
        "00000000000000000000",  # Service_Id (10, empty)
        "02",  # Fee_UserType 2
        "00" * 21,  # Fee_terminal_Id
        "00 01 08",  # TP_pId, TP_udhi 1, Msg_Fmt 8 (UCS2)
        "393031323334",  # Msg_src "901234"
        "3031 303030303030",  # FeeType "01", FeeCode "000000"
        "00" * 17 + "00" * 17,  # ValId_Time, At_Time
        "3130363930303031" + "00" * 13,  # Src_Id "10690001"
        "01",  # DestUsr_tl
        "3133393030303030303031" + "00" * 10,  # Dest_terminal_Id "13900000001"
    )
    for segment, n, piece in ((segments[0], "01", ucs2[:134]), (segments[1], "02", ucs2[134:])):
        pdu = Submit(
            dests=("13900000001",),
            content=segment.content,
            msg_src=SP,
            src_id="10690001",
            pk_total=2,
            pk_number=segment.number,
            udhi=1,
        ).pack()
        udh = "0500032a02" + n
        body = h(*(f.replace("{n}", n) for f in fixed)) + bytes([6 + len(piece)])
        body += h(udh) + piece + bytes(8)
        assert pdu == body
        assert len(pdu) == 117 + 21 + 1 + 6 + len(piece) + 8
        header = encode(Command.SUBMIT, 7, pdu)[:12]
        assert header == (12 + len(pdu)).to_bytes(4, "big") + h("00000004 00000007")


def test_pdus_round_trip() -> None:
    submit = Submit(("13900000001", "13900000002"), b"\x90\x1a", "901234", "10690001", "MGZ")
    assert Submit.unpack(submit.pack()) == submit
    resp = Resp(make_msg_id(datetime(2026, 12, 6, 15, 21, 30), 0x1F2E3, 9), 0)
    assert Resp.unpack(resp.pack()) == resp
    report = Report(resp.msg_id, "UNDELIV", "2612061521", "2612061522", "13900000001", 5)
    deliver = Deliver.of_report(77, "901234", report)
    back = Deliver.unpack(deliver.pack())
    assert back == deliver and back.report == report and not report.delivered
    assert len(deliver.content) == 60
    mo = Deliver(78, "10690001", "8613900000001", "TD".encode("utf-16-be"))
    assert Deliver.unpack(mo.pack()) == mo and Deliver.unpack(mo.pack()).report is None
    login = ConnectResp(3, bytes(16), 0x20)
    assert ConnectResp.unpack(login.pack()) == login


def test_msg_id_packs_time_gateway_and_sequence() -> None:
    msg_id = make_msg_id(datetime(2026, 12, 6, 15, 21, 30), 0x1F2E3, 0x1234)
    assert msg_id >> 60 == 12 and (msg_id >> 55) & 0x1F == 6 and (msg_id >> 50) & 0x1F == 15
    assert (msg_id >> 44) & 0x3F == 21 and (msg_id >> 38) & 0x3F == 30
    assert (msg_id >> 16) & 0x3FFFFF == 0x1F2E3 and msg_id & 0xFFFF == 0x1234


@pytest.mark.parametrize("length", [0, 11, MAX_PDU + 1, 0xFFFFFFFF])
def test_a_header_with_an_impossible_length_is_refused(length: int) -> None:
    with pytest.raises(ProtocolError):
        decode_header(length.to_bytes(4, "big") + h("00000004 00000001"))


def test_short_bodies_are_refused() -> None:
    good = Submit(("13900000001",), b"ab", "901234", "1069").pack()
    for body in (good[:50], good[:-9], b""):
        with pytest.raises(ProtocolError):
            Submit.unpack(body)
    with pytest.raises(ProtocolError):
        Deliver.unpack(Deliver(1, "1069", "139", b"x" * 40, registered_delivery=1).pack())


def test_segments_keep_surrogate_pairs_and_come_back_whole() -> None:
    assert [s.udhi for s in split("通" * 70, ref=1)] == [0]
    text = "通" * 66 + "𠀀" + "知" * 70  # the astral character straddles the 67-unit cut
    segments = split(text, ref=5)
    assert len(segments) == 3
    assert all(len(s.content) <= 140 for s in segments)
    # each segment is valid UTF-16 on its own (a phone shows segments as they come)
    pieces = [parse(s.content, s.udhi).payload.decode("utf-16-be") for s in segments]
    assert pieces[1].startswith("𠀀") and "".join(pieces) == text
    joined = Reassembler()
    outs = [joined.add("139", parse(s.content, s.udhi)) for s in reversed(segments)]
    assert outs[:2] == [None, None] and outs[2] is not None
    assert decode(outs[2], 8) == text


def test_the_reassembler_is_bounded() -> None:
    now = [0.0]
    joined = Reassembler(capacity=3, ttl=10, clock=lambda: now[0])
    for ref in range(5):
        assert joined.add("139", Part(ref, 2, 1, b"x")) is None
    assert len(joined) == 3 and joined.dropped == 2
    now[0] = 11
    joined.add("138", Part(9, 2, 1, b"y"))
    assert len(joined) == 1
    assert joined.add("139", Part(1, 2, 3, b"z")) is None  # a number beyond the total


def test_the_worked_example_in_the_docs_is_what_the_codec_writes() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "cmpp.md").read_text(encoding="utf-8")
    connect = doc.split("### CONNECT (39 bytes)\n\n```\n")[1].split("```")[0]
    login = Connect.login(SP, SECRET, datetime(2026, 12, 6, 15, 21, 30))
    assert h(connect.strip()) == encode(Command.CONNECT, 1, login.pack())
    block = doc.split("Segment 2 in full (183 bytes):\n\n```\n")[1].split("```")[0]
    written = h(*(line.split("   ")[0] for line in block.splitlines()))
    second = split(TEXT, ref=0x2A)[1]
    pdu = Submit(("13900000001",), second.content, SP, "10690001", pk_total=2, pk_number=2, udhi=1)
    assert written == encode(Command.SUBMIT, 3, pdu.pack())
