"""The local runtime: the stack's services as local processes, no Docker, no cluster."""
