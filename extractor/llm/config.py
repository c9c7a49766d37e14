"""LLM settings from environment variables, overridable by command-line flags."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

# USD per million tokens (input, output). Override or extend with OGI_PRICES='{"model": [in, out]}'.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "deepseek-chat": (0.27, 1.10),
    "qwen-plus": (0.40, 1.20),
    "qwen-turbo": (0.05, 0.20),
}


@dataclass(frozen=True)
class LLMConfig:
    base_url: str | None = None
    api_key: str | None = None
    model: str = "gpt-4o-mini"
    temperature: float = 0.0
    max_tokens: int = 2048
    timeout: float = 120.0
    concurrency: int = 1
    mode: str = "json_schema"  # json_schema | json | md_json  (tools fails on llama.cpp)
    max_reasks: int = 2  # validator findings sent back to the model, per section
    token_budget: int = 40_000  # per report, input + output
    retries: int = 4  # transport retries per call (429, 5xx, timeouts, connection errors)
    max_retry_wait: float = 60.0
    cache_dir: str | None = None
    prices: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    @property
    def configured(self) -> bool:
        return bool(self.base_url or self.api_key)

    @classmethod
    def from_env(cls, **overrides) -> "LLMConfig":
        env = os.environ
        prices = dict(DEFAULT_PRICES)
        if env.get("OGI_PRICES"):
            prices.update({k: tuple(v) for k, v in json.loads(env["OGI_PRICES"]).items()})
        cfg = cls(
            base_url=env.get("OPENAI_BASE_URL") or None,
            api_key=env.get("OPENAI_API_KEY") or None,
            model=env.get("OGI_MODEL", cls.model),
            temperature=float(env.get("OGI_TEMPERATURE", cls.temperature)),
            max_tokens=int(env.get("OGI_MAX_TOKENS", cls.max_tokens)),
            timeout=float(env.get("OGI_TIMEOUT", cls.timeout)),
            concurrency=int(env.get("OGI_CONCURRENCY", cls.concurrency)),
            mode=env.get("OGI_LLM_MODE", cls.mode),
            max_reasks=int(env.get("OGI_MAX_REASKS", cls.max_reasks)),
            token_budget=int(env.get("OGI_TOKEN_BUDGET", cls.token_budget)),
            retries=int(env.get("OGI_RETRIES", cls.retries)),
            cache_dir=env.get("OGI_CACHE_DIR") or str(Path.home() / ".cache" / "ogi-extract" / "llm"),
            prices=prices,
        )
        return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        price = self.prices.get(model)
        if price is None:
            return 0.0
        return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
