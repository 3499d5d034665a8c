"""User-written ticket templates, rendered in Jinja2's immutable sandbox.

Templates come from tenant admins, so they must not reach Python internals
(the sandbox refuses attribute access to dunders and unsafe callables) and
must not run forever or render megabytes (output is capped).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import TemplateError, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from fleetward.domain.errors import InvalidInput

MAX_TEMPLATE_CHARS = 4000
MAX_OUTPUT_CHARS = 20_000

TEMPLATE_VARIABLES = (
    "device",
    "message",
    "severity",
    "organization",
    "client",
    "site",
    "title",
    "provider",
    "occurred_at",
)


class _Env(ImmutableSandboxedEnvironment):
    # Loops over huge ranges are the sandbox's remaining way to burn CPU.
    def call(self, context: Any, obj: Any, *args: Any, **kwargs: Any) -> Any:
        if obj is range and args and max(abs(int(a)) for a in args if isinstance(a, int)) > 1000:
            raise SecurityError("range() too large in a template")
        return super().call(context, obj, *args, **kwargs)


@lru_cache(maxsize=1)
def _environment() -> _Env:
    return _Env(autoescape=False, undefined=Undefined)


@lru_cache(maxsize=2048)
def _compile(source: str) -> Any:
    return _environment().from_string(source)


def check_template(source: str, field: str) -> None:
    """Compile on save: 422 naming the field and the reason."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise InvalidInput(f"template longer than {MAX_TEMPLATE_CHARS} characters", field=field)
    try:
        _compile(source)
    except TemplateError as error:
        raise InvalidInput(f"template does not compile: {error}", field=field) from None


def render(source: str, variables: dict[str, Any]) -> str:
    """Render, or raise TemplateError/SecurityError for the caller to log and fall back."""
    output = str(_compile(source).render(**variables))
    return output[:MAX_OUTPUT_CHARS]
