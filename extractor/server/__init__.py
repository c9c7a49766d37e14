"""The HTTP API and review page: ``ogi-extract serve`` (FastAPI + uvicorn)."""

from extractor.server.app import ConfigError, ServerConfig, check_bind, create_app, is_loopback

__all__ = ["ConfigError", "ServerConfig", "check_bind", "create_app", "is_loopback"]
