"""Prefect flows encoding the Chapter 9 chain. Thin: they load, call the services, emit events."""
