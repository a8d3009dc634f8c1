"""Prices: genai-prices' database, with the user's overrides from the config file.

genai-prices holds per-million-token prices by provider and model, with the rules for
cached, cache-written and reasoning tokens. A call's cost is linear in its token counts
unless a price is tiered, so for each (provider, model) the rate of each kind of token
is read once (by pricing a million of that kind) and a call's cost is then a few
multiplications; tiered prices are computed by genai-prices for every call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmplug.errors import ConfigError

if TYPE_CHECKING:
    from llmplug import Usage

__all__ = ["PROVIDER_IDS", "Rates", "TieredRates", "parse_overrides", "rates_from_genai_prices"]

#: llmplug provider names and the genai-prices provider each one is priced as. Providers
#: not here (local servers, the mock, routes) have no price unless the config file
#: gives one: a guess from the model name alone could be a wrong price.
PROVIDER_IDS: dict[str, str] = {
    "openai": "openai",
    "azure": "azure",
    "anthropic": "anthropic",
    "gemini": "google",
    "vertex": "google",
    "bedrock": "aws",
    "aws": "aws",
    "groq": "groq",
    "together": "together",
    "openrouter": "openrouter",
    "deepseek": "deepseek",
    "mistral": "mistral",
    "fireworks": "fireworks",
    "xai": "x-ai",
}

_MILLION = 1_000_000
# how long rates read from genai-prices are kept: prices have start dates
_RATES_TTL = 3600.0


@dataclass(frozen=True)
class Rates:
    """US dollars per token, by kind of token.

    Attributes:
        input: A prompt token that is neither read from nor written to a cache.
        output: A generated token that is not reasoning.
        cached_input: A prompt token read from the provider's cache.
        cache_write: A prompt token written to the provider's cache.
        reasoning: A generated token spent on hidden reasoning.
    """

    input: float
    output: float
    cached_input: float
    cache_write: float
    reasoning: float

    def cost(self, usage: Usage) -> float:
        """The cost of ``usage`` at these rates, in US dollars."""
        cached = min(usage.cached_tokens, usage.input_tokens)
        written = min(usage.cache_creation_tokens, usage.input_tokens - cached)
        reasoning = min(usage.reasoning_tokens, usage.output_tokens)
        return (
            (usage.input_tokens - cached - written) * self.input
            + cached * self.cached_input
            + written * self.cache_write
            + (usage.output_tokens - reasoning) * self.output
            + reasoning * self.reasoning
        )


_KEYS = ("input", "output", "cached_input", "cache_write", "reasoning")


def parse_overrides(
    table: Mapping[str, Any], where: str
) -> tuple[dict[str, Rates], dict[str, str]]:
    """Read the config file's ``[plugins.cost]`` table: ``(prices, providers)``.

    ``prices`` are by ``provider:model`` or ``provider:*``; ``providers`` maps llmplug
    provider names to genai-prices provider ids.

    Raises:
        ConfigError: An unknown key or a price that is not a non-negative number.
    """
    unknown = sorted(set(table) - {"prices", "providers"})
    if unknown:
        raise ConfigError(
            f"{where}: [plugins.cost] has unknown key(s) {unknown}; valid: prices, providers"
        )
    prices = table.get("prices", {})
    providers = table.get("providers", {})
    if not isinstance(prices, dict) or not isinstance(providers, dict):
        raise ConfigError(f"{where}: [plugins.cost.prices] and [plugins.cost.providers] are tables")
    rates: dict[str, Rates] = {}
    for name, price in prices.items():
        here = f'{where}: [plugins.cost.prices."{name}"]'
        if ":" not in name:
            raise ConfigError(f"{here}: name a model as provider:model (or provider:* for all)")
        if not isinstance(price, dict):
            raise ConfigError(f"{here} must be a table, e.g. input = 0.15, output = 0.6")
        bad = sorted(set(price) - set(_KEYS))
        if bad:
            raise ConfigError(f"{here}: unknown key(s) {bad}; valid: {', '.join(_KEYS)}")
        for key, value in price.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(
                    f"{here}: {key} must be a number >= 0 (US dollars per million tokens)"
                )
        if "input" not in price or "output" not in price:
            raise ConfigError(
                f"{here}: give at least input and output (US dollars per million tokens)"
            )
        per = {key: float(value) / _MILLION for key, value in price.items()}
        rates[name] = Rates(
            input=per["input"],
            output=per["output"],
            cached_input=per.get("cached_input", per["input"]),
            cache_write=per.get("cache_write", per["input"]),
            reasoning=per.get("reasoning", per["output"]),
        )
    for name, target in providers.items():
        if not isinstance(target, str) or not target:
            raise ConfigError(
                f"{where}: [plugins.cost.providers] {name} must name a genai-prices provider"
            )
    return rates, dict(providers)


class TieredRates:
    """A model whose price is tiered: genai-prices computes each call's cost."""

    def __init__(self, provider_id: str, model: str) -> None:
        self.provider_id = provider_id
        self.model = model

    def cost(self, usage: Usage) -> float:
        import genai_prices

        result = genai_prices.calc_price(
            _genai_usage(usage), self.model, provider_id=self.provider_id
        )
        return float(result.total_price)


def _genai_usage(usage: Usage) -> Any:
    import genai_prices

    return genai_prices.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cached_tokens or None,
        cache_write_tokens=usage.cache_creation_tokens or None,
        output_reasoning_tokens=usage.reasoning_tokens or None,
    )


def _price_of(provider_id: str, model: str, **tokens: int) -> float:
    import genai_prices

    result = genai_prices.calc_price(genai_prices.Usage(**tokens), model, provider_id=provider_id)
    return float(result.total_price) / _MILLION


class _Lookup:
    """genai-prices lookups, each kept for an hour; unknown models are kept as unknown."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.found: dict[tuple[str, str], tuple[float, Rates | TieredRates | None]] = {}

    def get(self, provider_id: str, model: str) -> Rates | TieredRates | None:
        key = (provider_id, model)
        now = time.monotonic()
        hit = self.found.get(key)
        if hit is not None and now - hit[0] < _RATES_TTL:
            return hit[1]
        value = self._read(provider_id, model)
        with self.lock:
            self.found[key] = (now, value)
        return value

    @staticmethod
    def _read(provider_id: str, model: str) -> Rates | TieredRates | None:
        import genai_prices
        from genai_prices import types

        try:
            found = genai_prices.calc_price(
                genai_prices.Usage(input_tokens=_MILLION), model, provider_id=provider_id
            )
        except LookupError:
            return None  # an unknown model has no price: never a guess
        if any(isinstance(v, types.TieredPrices) for v in vars(found.model_price).values()):
            return TieredRates(provider_id, model)
        m = _MILLION
        return Rates(
            input=float(found.total_price) / m,
            output=_price_of(provider_id, model, output_tokens=m),
            cached_input=_price_of(provider_id, model, input_tokens=m, cache_read_tokens=m),
            cache_write=_price_of(provider_id, model, input_tokens=m, cache_write_tokens=m),
            reasoning=_price_of(provider_id, model, output_tokens=m, output_reasoning_tokens=m),
        )


_lookup = _Lookup()


def rates_from_genai_prices(provider_id: str, model: str) -> Rates | TieredRates | None:
    """The rates of ``model`` at genai-prices' provider ``provider_id``, or ``None``."""
    return _lookup.get(provider_id, model)
