"""One structured call to an OpenAI-compatible endpoint: retried, cached, counted.

Transport faults (429 honouring Retry-After, 5xx, timeouts, connection errors) are retried here
with jittered backoff. An answer that does not parse into the response model is *not* retried
here: it comes back as ``BadAnswer`` so the engine can re-ask inside its token budget.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass

import logging

import diskcache
import instructor
import openai
from instructor.core import IncompleteOutputException, InstructorRetryException
from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from extractor.llm.config import LLMConfig

logging.getLogger("instructor").setLevel(logging.CRITICAL)  # we report failures ourselves

_MODES = {"json_schema": instructor.Mode.JSON_SCHEMA, "json": instructor.Mode.JSON, "md_json": instructor.Mode.MD_JSON}


@dataclass
class Usage:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cache_hits: int = 0
    retries: int = 0

    def add(self, other: "Usage") -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


class LLMUnavailable(Exception):
    """The endpoint could not be reached or kept failing after every retry."""

    def __init__(self, message: str, usage: "Usage | None" = None):
        super().__init__(message)
        self.usage = usage or Usage()  # the retries spent before giving up


class BadAnswer(Exception):
    """The model answered, but not with JSON that fits the response model."""

    def __init__(self, message: str, usage: Usage):
        super().__init__(message)
        self.usage = usage


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError,
                        openai.InternalServerError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class LLMClient:
    def __init__(self, cfg: LLMConfig):
        self.cfg = cfg
        self._openai = openai.OpenAI(base_url=cfg.base_url, api_key=cfg.api_key or "not-needed",
                                     timeout=cfg.timeout, max_retries=0)
        self._client = instructor.from_openai(self._openai, mode=_MODES[cfg.mode])
        self._cache = diskcache.Cache(cfg.cache_dir) if cfg.cache_dir else None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = _retry_after(exc) if exc else None
        if hinted is not None:
            return min(hinted, self.cfg.max_retry_wait)
        return min(self.cfg.max_retry_wait, 0.5 * 2 ** (state.attempt_number - 1)) * random.uniform(0.5, 1.0)

    def cache_key(self, messages: list[dict], response_model: type[BaseModel], prompt_version: str) -> str:
        schema = json.dumps(response_model.model_json_schema(), sort_keys=True)
        blob = json.dumps([self.cfg.base_url, self.cfg.model, prompt_version, hashlib.sha256(schema.encode()).hexdigest(),
                           self.cfg.temperature, messages], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def structured(self, messages: list[dict], response_model: type[BaseModel], prompt_version: str) -> tuple[BaseModel, Usage]:
        usage = Usage()
        key = self.cache_key(messages, response_model, prompt_version)
        if self._cache is not None and key in self._cache:
            usage.cache_hits = 1
            return response_model.model_validate_json(self._cache[key]), usage
        retrying = Retrying(stop=stop_after_attempt(self.cfg.retries + 1), wait=self._wait,
                            retry=retry_if_exception(_transient), reraise=True)
        try:
            for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        usage.retries += 1
                    parsed, completion = self._once(messages, response_model, usage)
        except (openai.APIError, openai.APIConnectionError) as e:
            raise LLMUnavailable(f"{type(e).__name__}: {e}", usage) from e
        if self._cache is not None:
            self._cache.set(key, parsed.model_dump_json())
        return parsed, usage

    def _once(self, messages, response_model, usage: Usage):
        try:
            parsed, completion = self._client.chat.completions.create_with_completion(
                model=self.cfg.model, messages=messages, response_model=response_model, max_retries=0,
                temperature=self.cfg.temperature, max_tokens=self.cfg.max_tokens,
            )
        except InstructorRetryException as e:
            cause = e.__cause__ or e
            if isinstance(cause, openai.APIError) or isinstance(cause, openai.APIConnectionError):
                raise cause from None
            u = getattr(e, "total_usage", None)
            self._count(usage, getattr(u, "prompt_tokens", 0) or 0, getattr(u, "completion_tokens", 0) or 0)
            raise BadAnswer(_short(e), usage) from None
        except IncompleteOutputException as e:  # the answer hit max_tokens: whatever JSON it began is cut off
            u = getattr(e.last_completion, "usage", None)
            self._count(usage, getattr(u, "prompt_tokens", 0) or 0, getattr(u, "completion_tokens", 0) or 0)
            raise BadAnswer(f"the answer was cut off at max_tokens ({self.cfg.max_tokens})", usage) from None
        except (ValidationError, json.JSONDecodeError) as e:
            self._count(usage, 0, 0)
            raise BadAnswer(_short(e), usage) from None
        u = completion.usage
        self._count(usage, getattr(u, "prompt_tokens", 0) or 0, getattr(u, "completion_tokens", 0) or 0)
        return parsed, completion

    def _count(self, usage: Usage, pin: int, pout: int) -> None:
        usage.calls += 1
        usage.input_tokens += pin
        usage.output_tokens += pout
        usage.cost_usd += self.cfg.cost(self.cfg.model, pin, pout)


def _short(e: BaseException) -> str:
    return " ".join(str(e).split())[:400]
