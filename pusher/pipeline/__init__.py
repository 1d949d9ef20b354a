"""The pipeline: ingest → review → match → plan → dispatch → receipts.

Each step is a plain async function taking its collaborators as keyword
arguments; arq jobs and the in-process runner are thin wrappers around them.
"""
