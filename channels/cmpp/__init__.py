"""CMPP 2.0: China Mobile's SP-to-gateway protocol (codec, session, channel).

``protocol`` (header, command ids, CONNECT, framing bounds), ``pdus`` (SUBMIT,
DELIVER and the status report), ``segments`` (UCS2 text, UDHI long messages)
are pure; ``session`` keeps one persistent TCP connection; ``channel`` is the
pusher SMS channel on top. The protocol facts and their sources: docs/cmpp.md.
"""
