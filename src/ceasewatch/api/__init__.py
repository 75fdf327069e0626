"""The node's HTTP API (FastAPI): its logs read-only, and the cosignature exchange.

`create_app` builds the app for a node directory; `serve` runs it with uvicorn.
"""

from __future__ import annotations

from pathlib import Path

from ceasewatch.api.app import MAX_PAGE, create_app

__all__ = ["MAX_PAGE", "create_app", "serve"]


def serve(data_dir: Path, host: str = "127.0.0.1", port: int = 8470) -> None:
    """Serve the node in ``data_dir`` on ``host:port`` until interrupted.

    Example:
        ``serve(Path("node-a"), "0.0.0.0", 8470)``
    """
    import uvicorn

    uvicorn.run(create_app(Path(data_dir)), host=host, port=port, log_level="info")
