"""The bus: frames between processes. In-process by default, Redis pub/sub across processes."""
