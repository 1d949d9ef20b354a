"""Local emulators of the providers' real wire protocols, for tests and demos."""
