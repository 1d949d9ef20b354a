"""pusher: targeted push of township government information to residents."""

__version__ = "0.1.0"
