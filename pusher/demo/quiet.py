"""The demo's console output: its summary table and addresses only. Per-batch INFO lines
and the web server's access log go to a log file (``-v`` keeps them on the terminal)."""

from __future__ import annotations

import logging
from pathlib import Path

from pusher.ops.logs import MaskingFormatter

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def log_to_file(path: Path) -> Path:
    """Keep only warnings on the terminal; write every record at INFO and up to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setLevel(logging.WARNING)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(MaskingFormatter(FORMAT))
    to_file.setLevel(logging.INFO)
    root.addHandler(to_file)
    root.setLevel(min(root.level or logging.INFO, logging.INFO))
    return path
