"""The web process: JSON API, provider callbacks, console, health."""
