"""Outbound channels: provider clients that send batches and parse receipts.

Nothing here knows of arq or of the database; the pipeline passes in what a
channel needs (an HTTP session, a Redis client, a sink for the sandbox).
"""
