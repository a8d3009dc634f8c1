"""llmplug-cost: the cost of every call, in US dollars, on its usage (``usage.cost``).

Prices come from `genai-prices <https://pypi.org/project/genai-prices/>`_, which knows
how each provider charges cached, cache-written and reasoning tokens. A model it does
not know, and a provider it does not price (a local server, the mock), get no cost
(``None``): never a guess. The config file may set prices of its own::

    [plugins.cost.prices."ollama:*"]            # every model of a provider
    input = 0
    output = 0
    [plugins.cost.prices."openai:gpt-4o-mini"]  # US dollars per million tokens
    input = 0.15
    output = 0.60
    cached_input = 0.075                        # optional: else input
    cache_write = 0.15                          # optional: else input
    reasoning = 0.60                            # optional: else output
    [plugins.cost.providers]
    my-proxy = "openai"                         # price a provider as genai-prices' one

Switch it off with ``LLMPLUG_COST=0``, :func:`disable`, or per call
(``plugins={"cost": False}``). A call answered from a cache (``call.cache_hit``) cost
nothing: its cost is 0. :func:`cost_of` prices a usage directly.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

import llmplug
from llmplug.config import read_config
from llmplug.errors import ConfigError
from llmplug_cost._prices import (
    PROVIDER_IDS,
    Rates,
    TieredRates,
    parse_overrides,
    rates_from_genai_prices,
)

if TYPE_CHECKING:
    from llmplug import CallContext, Usage

__all__ = ["ENV", "PROVIDER_IDS", "Rates", "after_call", "cost_of", "disable", "enable", "enabled"]

LLMPLUG_PLUGIN_API = 1
#: ``LLMPLUG_COST=0`` switches the plugin off for the process (read when it loads).
ENV = "LLMPLUG_COST"

_state = {"on": os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")}
# the config file's [plugins.cost] table, re-read at most once a second
_overrides: dict[str, Any] = {"checked": -1.0, "config": None, "rates": {}, "providers": {}}
_overrides_lock = threading.Lock()
_clock = time.monotonic


def enable() -> None:
    """Price calls in this process (the default, unless ``LLMPLUG_COST=0``)."""
    _state["on"] = True


def disable() -> None:
    """Stop pricing calls in this process."""
    _state["on"] = False


def enabled() -> bool:
    """Whether calls are priced in this process."""
    return _state["on"]


def _config_overrides() -> tuple[dict[str, Rates], dict[str, str]]:
    now = _clock()
    if now - _overrides["checked"] < 1.0:
        return _overrides["rates"], _overrides["providers"]
    with _overrides_lock:
        config = read_config()
        if config is not _overrides["config"]:
            table = config.plugins.get("cost", {})
            where = f"config file {str(config.path)!r}"
            rates, providers = parse_overrides(table, where) if table else ({}, {})
            _overrides.update(config=config, rates=rates, providers=providers)
        _overrides["checked"] = now
    return _overrides["rates"], _overrides["providers"]


def cost_of(provider: str, model: str, usage: Usage) -> float | None:
    """What ``usage`` of ``model`` at llmplug provider ``provider`` costs, in US dollars.

    The config file's prices come first (``provider:model``, then ``provider:*``), then
    genai-prices' for the provider's genai-prices id (:data:`PROVIDER_IDS`, or the
    config file's ``[plugins.cost.providers]``).

    Returns:
        The cost, or ``None`` when no price is known for that provider and model.

    Raises:
        ConfigError: The config file's ``[plugins.cost]`` table is not valid.
    """
    key = (provider, model)
    now = _clock()
    hit = _resolved.get(key)
    if hit is None or now >= hit[0]:
        hit = _resolve(key, now)
    found = hit[1]
    return None if found is None else found.cost(usage)


# the rates found for each (provider, model), kept a second: the config file is re-read
# at most once a second anyway, and a call then costs a lookup and a few multiplications
_resolved: dict[tuple[str, str], tuple[float, Rates | TieredRates | None]] = {}


def _resolve(key: tuple[str, str], now: float) -> tuple[float, Rates | TieredRates | None]:
    provider, model = key
    rates, providers = _config_overrides()
    found: Rates | TieredRates | None = rates.get(f"{provider}:{model}") or rates.get(
        f"{provider}:*"
    )
    if found is None:
        provider_id = providers.get(provider) or PROVIDER_IDS.get(provider)
        if provider_id is not None and model:
            found = rates_from_genai_prices(provider_id, model)
    if len(_resolved) >= 1024:
        _resolved.clear()
    hit = _resolved[key] = (now + 1.0, found)
    return hit


# a bad [plugins.cost] table is said once per message, not on every call
_said: set[str] = set()


@llmplug.hookimpl(tryfirst=True)  # before the observers that read the cost (the call log)
def after_call(call: CallContext, response: Any) -> None:
    """Put the call's cost on its usage (``response.usage.cost``), when it is known.

    A config file whose ``[plugins.cost]`` table is not valid leaves calls unpriced and
    is reported once (on the ``llmplug_cost`` logger, with what to fix).
    """
    if not _state["on"]:
        return
    usage = getattr(response, "usage", None)
    if usage is None:
        return
    if call.cache_hit:
        usage.cost = 0.0  # answered from a cache: nothing was spent
    elif usage.cost is None:  # else priced already (a route's answer is its model's)
        try:
            usage.cost = cost_of(call.provider, call.model, usage)
        except ConfigError as exc:
            if str(exc) not in _said:
                _said.add(str(exc))
                logging.getLogger("llmplug_cost").error(
                    "llmplug-cost: calls are not priced until the config file is fixed: %s", exc
                )
