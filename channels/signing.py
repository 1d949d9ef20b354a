"""Request signing for the SMS providers, as pure functions of their inputs.

Three schemes, each split into the steps the providers document so that tests
can check every intermediate string against the published examples:

* Aliyun RPC V1 (``HMAC-SHA1``): ``aliyun_v1_string_to_sign`` → ``aliyun_v1_signature``.
* Aliyun V3 (``ACS3-HMAC-SHA256``): ``aliyun_v3_canonical_request`` →
  ``aliyun_v3_string_to_sign`` → ``aliyun_v3_signature`` → ``aliyun_v3_authorization``.
* Tencent Cloud ``TC3-HMAC-SHA256``: ``tc3_canonical_request`` → ``tc3_string_to_sign`` →
  ``tc3_signature`` → ``tc3_authorization``.

Clients sign with these and the emulators verify with the same functions after
re-canonicalising what they received (never the raw query string).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

ACS3 = "ACS3-HMAC-SHA256"
TC3 = "TC3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def sha256_hex(data: bytes | str) -> str:
    """Lower-case hex SHA-256 of ``data`` (text is UTF-8 encoded)."""
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def percent_encode(value: str) -> str:
    """Aliyun's percentEncode: RFC 3986 unreserved kept, space as ``%20``, ``*`` as ``%2A``."""
    return quote(value, safe="-_.~")


def _canonical_query(params: Iterable[tuple[str, str]]) -> str:
    pairs = sorted((percent_encode(k), percent_encode(v)) for k, v in params)
    return "&".join(f"{k}={v}" for k, v in pairs)


def aliyun_v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """StringToSign of Aliyun RPC V1 over every parameter except ``Signature``."""
    canonical = _canonical_query((k, v) for k, v in params.items() if k != "Signature")
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def aliyun_v1_signature(secret: str, string_to_sign: str) -> str:
    """Base64 HMAC-SHA1 keyed with ``secret + "&"``."""
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def aliyun_v3_canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    payload_hash: str,
) -> str:
    """CanonicalRequest of ACS3-HMAC-SHA256; ``headers`` keys must be lower-case."""
    names = sorted(h.lower() for h in signed_headers)
    canonical_headers = "".join(f"{n}:{headers.get(n, '').strip()}\n" for n in names)
    return "\n".join(
        [
            method.upper(),
            path or "/",
            _canonical_query(query),
            canonical_headers,
            ";".join(names),
            payload_hash,
        ]
    )


def aliyun_v3_string_to_sign(canonical_request: str) -> str:
    """``"ACS3-HMAC-SHA256\\n" + hex(sha256(CanonicalRequest))``."""
    return f"{ACS3}\n{sha256_hex(canonical_request)}"


def aliyun_v3_signature(secret: str, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 keyed with the raw secret (no ``&``)."""
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def aliyun_v3_authorization(access_key_id: str, signed_headers: Iterable[str], sig: str) -> str:
    """The ``Authorization`` header value (fields separated by a bare comma)."""
    names = ";".join(sorted(h.lower() for h in signed_headers))
    return f"{ACS3} Credential={access_key_id},SignedHeaders={names},Signature={sig}"


def tc3_date(timestamp: int) -> str:
    """The UTC date (``yyyy-mm-dd``) of ``timestamp``, as TC3 scopes it (not UTC+8)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def tc3_canonical_request(
    method: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    payload: bytes,
    *,
    unsigned_payload: bool = False,
) -> str:
    """CanonicalRequest of TC3; ``headers`` keys lower-case, path always ``/``."""
    names = sorted(h.lower() for h in signed_headers)
    canonical_headers = "".join(f"{n}:{headers.get(n, '').strip().lower()}\n" for n in names)
    hashed = sha256_hex(b"UNSIGNED-PAYLOAD" if unsigned_payload else payload)
    return "\n".join([method.upper(), "/", query, canonical_headers, ";".join(names), hashed])


def tc3_string_to_sign(timestamp: int, service: str, canonical_request: str) -> str:
    """StringToSign of TC3 with the credential scope ``date/service/tc3_request``."""
    scope = f"{tc3_date(timestamp)}/{service}/tc3_request"
    return f"{TC3}\n{timestamp}\n{scope}\n{sha256_hex(canonical_request)}"


def _hmac256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    """Hex signature from the derived key chain TC3+key → date → service → tc3_request."""
    secret_date = _hmac256(f"TC3{secret_key}".encode(), date)
    secret_signing = _hmac256(_hmac256(secret_date, service), "tc3_request")
    return hmac.new(secret_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_authorization(
    secret_id: str, date: str, service: str, signed_headers: Iterable[str], sig: str
) -> str:
    """The ``Authorization`` header value (fields separated by comma and space)."""
    names = ";".join(sorted(h.lower() for h in signed_headers))
    credential = f"{secret_id}/{date}/{service}/tc3_request"
    return f"{TC3} Credential={credential}, SignedHeaders={names}, Signature={sig}"


def aliyun_v1_signed_params(
    params: Mapping[str, str],
    *,
    access_key_id: str,
    secret: str,
    nonce: str,
    timestamp: str,
    method: str = "POST",
) -> dict[str, str]:
    """``params`` plus the V1 common parameters and ``Signature``.

    ``params`` must already hold ``Action``, ``Version`` and the business fields.
    """
    full = {
        **params,
        "Format": "JSON",
        "AccessKeyId": access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce,
        "Timestamp": timestamp,
    }
    full["Signature"] = aliyun_v1_signature(secret, aliyun_v1_string_to_sign(method, full))
    return full


def aliyun_v3_signed_headers(
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    access_key_id: str,
    secret: str,
    method: str = "POST",
) -> dict[str, str]:
    """``headers`` (lower-case names, ``host`` and ``x-acs-*`` included) plus the
    payload hash and ``authorization``, signing every header given and an empty query."""
    signed = {**headers, "x-acs-content-sha256": sha256_hex(body)}
    canonical = aliyun_v3_canonical_request(
        method, "/", [], signed, signed, signed["x-acs-content-sha256"]
    )
    sig = aliyun_v3_signature(secret, aliyun_v3_string_to_sign(canonical))
    return {**signed, "authorization": aliyun_v3_authorization(access_key_id, signed, sig)}


def tc3_signed_headers(
    headers: Mapping[str, str],
    payload: bytes,
    *,
    secret_id: str,
    secret_key: str,
    timestamp: int,
    service: str,
) -> dict[str, str]:
    """``headers`` plus ``authorization``, signing ``content-type`` and ``host``."""
    names = ("content-type", "host")
    canonical = tc3_canonical_request("POST", "", headers, names, payload)
    date = tc3_date(timestamp)
    sig = tc3_signature(
        secret_key, date, service, tc3_string_to_sign(timestamp, service, canonical)
    )
    return {**headers, "authorization": tc3_authorization(secret_id, date, service, names, sig)}
