"""User-written ticket templates: Jinja2's syntax, evaluated by a small interpreter.

Templates come from tenant admins and run on every matching alert, so what
one costs is bounded by construction, not by a timer:

- Jinja2 only parses the template; nothing is compiled. Jinja's compiler
  folds constant expressions into the compiled template even with the
  optimiser off, so `{{ 'x'|center('999999999'|int) }}` used to build a
  gigabyte string on save and keep it in the template cache.
- The parsed tree is checked against an allow-list when the template is saved
  and turned into closures once: text, `{{ }}` output, `if`/`elif`/`else`,
  `~`, `and`/`or`/`not`, comparisons, `a if c else b`, `is defined`/`none`,
  the TEMPLATE_VARIABLES, literals (strings, integers up to MAX_INT,
  booleans, none) and the filters of template_filters.FILTERS with literal
  arguments within their limits. Anything else (loops, calls, macros, `set`,
  attributes, subscripts, arithmetic, `%`) is refused, naming what.
- A render charges every operation to a budget of MAX_RENDER_WORK characters
  before doing it, cuts every value at MAX_VALUE_CHARS, and stops once the
  output passed the field's cap; the output is cut at the cap with a marker.
- Parsed templates are kept in an LRU cache of TEMPLATE_CACHE_SIZE entries,
  keyed by the template's text; an entry holds nothing but the template's own
  literals (MAX_NODES nodes at most).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jinja2 import Environment, nodes

from fleetward.domain.errors import InvalidInput
from fleetward.domain.template_filters import FILTERS, MAX_VALUE_CHARS, bind

MAX_TEMPLATE_CHARS = 4000
MAX_TITLE_CHARS = 255
MAX_DESCRIPTION_CHARS = 65_536
MAX_INT = 10_000
# Characters read and written by one render, all operations together.
MAX_RENDER_WORK = 524_288
MAX_DEPTH = 48
# A compiled node costs some 250 bytes: the cache holds 128 x 1000 x 250 B = 32 MB at most.
MAX_NODES = 1000
TEMPLATE_CACHE_SIZE = 128
CUT_MARKER = "…"

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
_VARIABLES = frozenset(TEMPLATE_VARIABLES)


class TemplateRenderError(Exception):
    """A template failed to render; the caller falls back to the default text and notes why."""


class _Refused(ValueError):
    """A construct outside the allowed grammar."""


class _OutputFull(Exception):
    """The output passed its cap: nothing after it would be kept."""


@dataclass(slots=True)
class _Scope:
    variables: dict[str, str]
    limit: int
    budget: int = MAX_RENDER_WORK
    out: list[str] = field(default_factory=list)
    out_chars: int = 0

    def charge(self, chars: int) -> None:
        self.budget -= chars
        if self.budget < 0:
            raise TemplateRenderError(
                f"the template does more than {MAX_RENDER_WORK} characters of work"
            )

    def write(self, text: str) -> None:
        self.charge(len(text))
        self.out.append(text)
        self.out_chars += len(text)
        if self.out_chars > self.limit:
            raise _OutputFull


Expr = Callable[[_Scope], object]
Stmt = Callable[[_Scope], None]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "ne": lambda a, b: bool(a != b),
    "lt": lambda a, b: bool(a < b),
    "lteq": lambda a, b: bool(a <= b),
    "gt": lambda a, b: bool(a > b),
    "gteq": lambda a, b: bool(a >= b),
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}
_TESTS = ("defined", "undefined", "none")
_REFUSED_NAMES = {
    nodes.For: "loops",
    nodes.Macro: "macros",
    nodes.CallBlock: "call blocks",
    nodes.Call: "function calls",
    nodes.Getattr: "attributes",
    nodes.Getitem: "subscripts",
    nodes.Mul: "the * operator",
    nodes.Pow: "the ** operator",
    nodes.Mod: "the % operator",
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.FilterBlock: "filter blocks",
}


def _size(value: object) -> int:
    return len(value) if isinstance(value, str) else 1


def _cut_value(value: object) -> object:
    return value[:MAX_VALUE_CHARS] if isinstance(value, str) else value


class _Compiler:
    """Turns an allowed Jinja2 tree into closures; _Refused for anything else."""

    def __init__(self) -> None:
        self.count = 0

    def _enter(self, depth: int) -> None:
        self.count += 1
        if self.count > MAX_NODES:
            raise _Refused(f"the template has more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise _Refused(f"the template nests deeper than {MAX_DEPTH} levels")

    def body(self, statements: list[nodes.Node], depth: int) -> tuple[Stmt, ...]:
        return tuple(self.statement(s, depth + 1) for s in statements)

    def statement(self, node: nodes.Node, depth: int) -> Stmt:
        self._enter(depth)
        if isinstance(node, nodes.Output):
            parts = tuple(self.output(n, depth + 1) for n in node.nodes)

            def output(scope: _Scope) -> None:
                for part in parts:
                    part(scope)

            return output
        if isinstance(node, nodes.If):
            branches = [(self.expr(node.test, depth + 1), self.body(node.body, depth))]
            for elif_ in node.elif_:
                self._enter(depth + 1)
                branches.append((self.expr(elif_.test, depth + 2), self.body(elif_.body, depth)))
            otherwise = self.body(node.else_, depth)
            return _if(tuple(branches), otherwise)
        raise _Refused(f"templates may not use {_what(node)}")

    def output(self, node: nodes.Node, depth: int) -> Stmt:
        if isinstance(node, nodes.TemplateData):
            text: str = node.data
            return lambda scope: scope.write(text)
        value = self.expr(node, depth)
        return lambda scope: scope.write(_printed(value(scope)))

    def expr(self, node: nodes.Node, depth: int) -> Expr:
        self._enter(depth)
        inner = depth + 1
        if isinstance(node, nodes.Const):
            return _const(node.value)
        if isinstance(node, nodes.Name):
            return _name(node.name, node.ctx)
        if isinstance(node, nodes.Concat):
            return _concat(tuple(self.expr(n, inner) for n in node.nodes))
        if isinstance(node, nodes.CondExpr):
            test, then = self.expr(node.test, inner), self.expr(node.expr1, inner)
            other = self.expr(node.expr2, inner) if node.expr2 is not None else _const("")
            return lambda s: then(s) if test(s) else other(s)
        if isinstance(node, nodes.And):
            left, right = self.expr(node.left, inner), self.expr(node.right, inner)
            return lambda s: left(s) and right(s)
        if isinstance(node, nodes.Or):
            left, right = self.expr(node.left, inner), self.expr(node.right, inner)
            return lambda s: left(s) or right(s)
        if isinstance(node, nodes.Not):
            operand = self.expr(node.node, inner)
            return lambda s: not operand(s)
        if isinstance(node, nodes.Compare):
            ops = tuple((_COMPARE[o.op], self.expr(o.expr, inner)) for o in node.ops)
            return _compare(self.expr(node.expr, inner), ops)
        if isinstance(node, nodes.Filter):
            return self.filter(node, inner)
        if isinstance(node, nodes.Test):
            return self.test(node, inner)
        raise _Refused(f"templates may not use {_what(node)}")

    def filter(self, node: nodes.Filter, depth: int) -> Expr:
        spec = FILTERS.get(node.name)
        if spec is None:
            allowed = ", ".join(sorted(FILTERS))
            raise _Refused(f"no filter named {node.name!r} (allowed: {allowed})")
        if node.node is None or node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Refused(f"filter {node.name} takes literal arguments only")
        args = [_literal(node.name, a) for a in node.args]
        kwargs = {str(k.key): _literal(node.name, k.value) for k in node.kwargs}
        try:
            arguments = bind(node.name, spec, args, kwargs)
        except ValueError as error:
            raise _Refused(str(error)) from None
        operand, apply = self.expr(node.node, depth), spec.apply
        return lambda s: _cut_value(apply(s.charge, operand(s), *arguments))

    def test(self, node: nodes.Test, depth: int) -> Expr:
        if node.name not in _TESTS or node.args or node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise _Refused(f"no test named {node.name!r} (allowed: {', '.join(_TESTS)})")
        if node.name == "none":
            operand = self.expr(node.node, depth)
            return lambda s: operand(s) is None
        self.expr(node.node, depth)  # checked like any expression, though only its name counts
        name = node.node.name if isinstance(node.node, nodes.Name) else None
        wanted = node.name == "defined"
        return lambda s: (name is None or name in s.variables) == wanted


def _what(node: nodes.Node) -> str:
    for kind, what in _REFUSED_NAMES.items():
        if isinstance(node, kind):
            return what
    if isinstance(node, nodes.BinExpr | nodes.UnaryExpr):
        return "arithmetic"
    return type(node).__name__.lower()


def _literal(filter_name: str, node: nodes.Node) -> object:
    if not isinstance(node, nodes.Const):
        raise _Refused(f"filter {filter_name} takes literal arguments only")
    return node.value


def _const(value: object) -> Expr:
    if value is not None and type(value) not in (str, int, bool):
        raise _Refused(f"templates may not use {type(value).__name__} literals")
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise _Refused(f"templates may not use numbers above {MAX_INT}")

    def literal(scope: _Scope) -> object:
        scope.charge(1)
        return value

    return literal


def _name(name: str, ctx: str) -> Expr:
    if ctx != "load" or name not in _VARIABLES:
        raise _Refused(f"no variable named {name!r} (allowed: {', '.join(TEMPLATE_VARIABLES)})")

    def variable(scope: _Scope) -> object:
        # Reading a value copies nothing: what is done with it (written, joined,
        # filtered, compared) is charged by its length.
        scope.charge(1)
        return scope.variables.get(name, "")

    return variable


def _concat(parts: tuple[Expr, ...]) -> Expr:
    def concat(scope: _Scope) -> object:
        pieces = [_printed(part(scope)) for part in parts]
        scope.charge(sum(len(p) for p in pieces))
        return "".join(pieces)[:MAX_VALUE_CHARS]

    return concat


def _compare(first: Expr, ops: tuple[tuple[Callable[[Any, Any], bool], Expr], ...]) -> Expr:
    def compare(scope: _Scope) -> object:
        left = first(scope)
        for holds, operand in ops:
            right = operand(scope)
            scope.charge(_size(left) + _size(right))
            if not holds(left, right):
                return False
            left = right
        return True

    return compare


def _if(branches: tuple[tuple[Expr, tuple[Stmt, ...]], ...], otherwise: tuple[Stmt, ...]) -> Stmt:
    def conditional(scope: _Scope) -> None:
        chosen = next((body for test, body in branches if test(scope)), otherwise)
        for statement in chosen:
            statement(scope)

    return conditional


def _printed(value: object) -> str:
    return value if isinstance(value, str) else str(value)


@lru_cache(maxsize=1)
def _parser() -> Environment:
    # Only Environment.parse is used: the tree is never compiled, so never constant-folded.
    # Nothing is rendered by Jinja either, so autoescape has nothing to escape.
    return Environment(autoescape=False)  # noqa: S701


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def _compiled(source: str) -> tuple[Stmt, ...]:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise _Refused(f"template longer than {MAX_TEMPLATE_CHARS} characters")
    try:
        tree = _parser().parse(source)
    except RecursionError:  # Jinja's parser recurses once per nesting level
        raise _Refused(f"the template nests deeper than {MAX_DEPTH} levels") from None
    return _Compiler().body(tree.body, 0)


def cut(text: str, max_chars: int) -> str:
    """`text`, or its first characters and CUT_MARKER, `max_chars` in all."""
    if len(text) <= max_chars:
        return text
    return text[: max_chars - len(CUT_MARKER)] + CUT_MARKER


def check_template(source: str, field: str) -> None:
    """Parse and check on save: 422 naming the field and the reason."""
    try:
        _compiled(source)
    except Exception as error:  # any reason it cannot be parsed is the template's fault
        raise InvalidInput(f"{field}: {error}", field=field) from None


def render(
    source: str, variables: Mapping[str, object], max_chars: int = MAX_DESCRIPTION_CHARS
) -> str:
    """The template's text, cut at `max_chars`; TemplateRenderError and nothing else if it fails."""
    try:
        program = _compiled(source)
    except Exception as error:  # saved under older rules: refused now, so not rendered
        raise TemplateRenderError(f"template refused: {error}") from None
    values = {
        name: _printed(value)[:MAX_VALUE_CHARS] if value is not None else ""
        for name, value in variables.items()
        if name in _VARIABLES
    }
    scope = _Scope(values, max_chars)
    try:
        for statement in program:
            statement(scope)
    except _OutputFull:
        pass
    except TemplateRenderError:
        raise
    except Exception as error:  # the template's own failure ('a' < 1) is the template's
        raise TemplateRenderError(f"{type(error).__name__}: {error}") from None
    return cut("".join(scope.out), max_chars)
