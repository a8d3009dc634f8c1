"""The log's JSON encoder: one, made once, for the JSON columns."""

from __future__ import annotations

import json

__all__ = ["encode_json"]

#: JSON text of a value (a value JSON cannot hold is written as its ``str``).
encode_json = json.JSONEncoder(ensure_ascii=False, check_circular=False, default=str).encode
