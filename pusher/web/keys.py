"""Typed application state keys (no string keys on the app)."""

from __future__ import annotations

from aiohttp import web

from pusher.runtime.context import Resources
from pusher.settings import Settings
from pusher.web.nonces import NonceStore
from pusher.web.receipt_batch import ReceiptApplier

SETTINGS = web.AppKey("settings", Settings)
RESOURCES = web.AppKey("resources", Resources)
RECEIPTS = web.AppKey("receipts", ReceiptApplier)
NONCES = web.AppKey("nonces", NonceStore)
