"""Password hashing for console users (argon2id), off the event loop.

:func:`hash_async` and :func:`verify_async` run argon2 in a thread. A login for an unknown
user verifies against :data:`DUMMY` instead, so the answer takes as long as for a real one
(no username probing by timing).
"""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; safe to store). Blocks: see hash_async."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for an empty or broken hash."""
    if not password_hash:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash() -> str:
    """A hash no password matches in practice, made once (on first use, not at import)."""
    return _HASHER.hash("pusher-dummy-password-for-unknown-users")


async def hash_async(password: str) -> str:
    """:func:`hash_password` in a thread."""
    return await asyncio.to_thread(hash_password, password)


async def verify_async(password_hash: str | None, password: str) -> bool:
    """:func:`verify_password` in a thread; a missing hash is checked against the dummy.

    The result for a missing hash is always False, after the same argon2 work.
    """
    if not password_hash:
        await asyncio.to_thread(verify_password, await asyncio.to_thread(dummy_hash), password)
        return False
    return await asyncio.to_thread(verify_password, password_hash, password)


def password_problem(password: str) -> str | None:
    """Why ``password`` is too weak to set, in Chinese, or None."""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 位"
    return None
