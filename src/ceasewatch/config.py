"""Settings: where the data lives. Built by the CLI and passed down, never a global."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Runtime settings, from CEASEWATCH_* environment variables or arguments.

    Attributes:
        data_dir: where a node or the demo keeps its files (CEASEWATCH_DATA).
    """

    model_config = SettingsConfigDict(env_prefix="CEASEWATCH_", extra="ignore")

    data: Path = Path("ceasewatch-data")
