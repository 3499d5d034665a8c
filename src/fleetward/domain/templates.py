"""User-written ticket templates, rendered in Jinja2's immutable sandbox.

Templates come from tenant admins and run on every matching alert, so two
things must hold besides the sandbox's own rule (no dunders, no unsafe
callables, so no way to Python internals):

- they cannot run long or build huge strings. Rather than time a render,
  the language is cut down to what a ticket title needs: variables, filters,
  conditionals and literals. Loops, macros, calls, imports and the `*` and
  `**` operators are refused when the template is saved, and so are integer
  literals above MAX_INT (`'x'|center(10**9)`). What is left renders in time
  linear in the template's size.
- the optimiser is off, so nothing of the template is evaluated at compile
  time (Jinja folds constant expressions while compiling otherwise).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import TemplateError, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from fleetward.domain.errors import InvalidInput

MAX_TEMPLATE_CHARS = 4000
MAX_OUTPUT_CHARS = 20_000
MAX_INT = 10_000

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

# Node types that could loop, recurse, call out or multiply sizes.
_REFUSED: tuple[tuple[type[nodes.Node], str], ...] = (
    (nodes.For, "loops"),
    (nodes.Macro, "macros"),
    (nodes.CallBlock, "call blocks"),
    (nodes.Call, "function calls"),
    (nodes.Include, "include"),
    (nodes.Import, "import"),
    (nodes.FromImport, "import"),
    (nodes.Extends, "extends"),
    (nodes.Mul, "the * operator"),
    (nodes.Pow, "the ** operator"),
    (nodes.FilterBlock, "filter blocks"),
)


@lru_cache(maxsize=1)
def _environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(autoescape=False, undefined=Undefined, optimized=False)


def _policy_violation(source: str) -> str | None:
    tree = _environment().parse(source)
    for node_type, what in _REFUSED:
        if next(tree.find_all(node_type), None) is not None:
            return f"templates may not use {what}"
    for attribute in tree.find_all(nodes.Getattr):
        if attribute.attr.startswith("_"):
            return f"templates may not use private attributes ({attribute.attr})"
    for const in tree.find_all(nodes.Const):
        value = const.value
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            return f"templates may not use numbers above {MAX_INT}"
    return None


@lru_cache(maxsize=2048)
def _compile(source: str) -> Any:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise SecurityError(f"template longer than {MAX_TEMPLATE_CHARS} characters")
    problem = _policy_violation(source)
    if problem is not None:
        raise SecurityError(problem)
    return _environment().from_string(source)


def check_template(source: str, field: str) -> None:
    """Compile on save: 422 naming the field and the reason."""
    try:
        _compile(source)
    except Exception as error:  # any reason it cannot compile is the template's fault
        raise InvalidInput(f"{field}: {error}", field=field) from None


def render(source: str, variables: dict[str, Any]) -> str:
    """Render, or raise TemplateError for the caller to log and fall back."""
    try:
        output = str(_compile(source).render(**variables))
    except TemplateError:
        raise
    except Exception as error:
        # The template's own failure ({{ 1/0 }}) is still the template's: callers fall
        # back on TemplateError rather than lose the ticket.
        raise TemplateError(f"{type(error).__name__}: {error}") from error
    return output[:MAX_OUTPUT_CHARS]
