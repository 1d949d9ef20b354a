"""The command line (entry point :func:`pusher.cli.main.main`) and its commands."""
