"""Settings: one class, every field settable as ``COOPGRAPH_<FIELD>`` in the environment."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_store_path() -> Path:
    """The per-user store location used when no ``--store``/``COOPGRAPH_STORE`` is given."""
    return Path(user_data_dir("coopgraph", appauthor=False)) / "store"


class Settings(BaseSettings):
    """Runtime configuration shared by the CLI and the HTTP server."""

    model_config = SettingsConfigDict(env_prefix="COOPGRAPH_", extra="ignore")

    store: Path = Field(default_factory=default_store_path)
    host: str = "127.0.0.1"
    port: int = 8000
    timeout: float = Field(default=30.0, gt=0, description="Query time limit in seconds.")
    workers: int = Field(default=2, ge=1, description="Query worker processes.")
    queue_size: int = Field(default=16, ge=1, description="Queries admitted beyond the workers.")
    max_query_bytes: int = Field(default=100_000, ge=1)
    max_results: int = Field(default=100_000, ge=1, description="Result rows before truncation.")
    update_token: SecretStr | None = None
    sparql_endpoint: str | None = None
    sparql_update_endpoint: str | None = None
    base_iri: str = "https://w3id.org/coopgraph/"
    queries_dir: Path | None = Field(default=None, description="Folder of canned queries (default: the shipped queries/).")
