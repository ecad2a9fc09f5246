"""Prefect as the engine: the local server, the flow runner, the deployment list, ``hokoku serve``."""
