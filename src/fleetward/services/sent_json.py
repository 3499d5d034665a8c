"""JSON that machines send (webhooks, agents), decoded and cleaned for keeping.

orjson refuses a lone surrogate escape ("\\ud800"), which is valid JSON text
that some senders produce when they cut a string between the two halves of an
emoji. Such a body is decoded again by the standard library, which keeps the
surrogate, and then cleaned like every other string (domain/text.py), so the
alert or event it carries is stored rather than lost. Everything orjson
refuses for any other reason stays refused.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

import orjson

from fleetward.domain.text import clean_json

# What a decoded body may hold that kept text may not: escapes of control
# characters (\b \f \r \u00XX), and DEL and C1 characters, which JSON allows
# unescaped. A body without any of them is returned as decoded, unwalked.
_MAY_NEED_CLEANING = re.compile(rb"\\[bfru]|\x7f|\xc2[\x80-\x9f]")


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def _integer(text: str) -> int | float:
    # orjson reads integers past 64 bits as floats; so does this, so the body
    # can be written back as JSON.
    number = int(text)
    return number if -(2**63) <= number < 2**64 else _finite(text)


def loads_sent(raw: bytes) -> Any:
    """The JSON value `raw` holds, its strings cleaned; orjson.JSONDecodeError if none."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        if "surrogate" not in str(error):
            raise
        try:
            # Like orjson: UTF-8 only, finite numbers, no NaN or Infinity.
            value = json.loads(
                raw.decode("utf-8"),
                parse_constant=_refuse_constant,
                parse_float=_finite,
                parse_int=_integer,
            )
        except (ValueError, RecursionError):
            raise error from None
        return clean_json(value)
    return clean_json(value) if _MAY_NEED_CLEANING.search(raw) else value
