"""Errors the service reports to its users (mapped to HTTP 4xx by the web layer)."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a request that cannot be honoured; ``status`` is the HTTP code."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(UserError):
    status = 422


class TooLarge(UserError):
    status = 413


class NotFound(UserError):
    status = 404


class Conflict(UserError):
    status = 409


class Forbidden(UserError):
    status = 403
