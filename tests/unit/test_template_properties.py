"""Any template is refused on save, or renders within the caps (or raises the domain error)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2.sandbox import ImmutableSandboxedEnvironment

from fleetward.domain.errors import InvalidInput
from fleetward.domain.template_filters import FILTERS
from fleetward.domain.templates import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    TEMPLATE_VARIABLES,
    TemplateRenderError,
    check_template,
    render,
)

FIELD = "actions.description_template"
# Names and filters outside the grammar too, so that refusals are exercised.
NAMES = [*TEMPLATE_VARIABLES, "self", "lipsum", "x"]
FILTER_NAMES = [*FILTERS, "int", "float", "format", "attr", "join", "list", "map"]
SAFE_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="{}%#\\'"), max_size=12)


def quoted(text: str) -> str:
    return "'" + text + "'"


literals = st.one_of(
    SAFE_TEXT.map(quoted),
    st.integers(-5, 300).map(str),
    st.sampled_from(["99999", "'9999'", "true", "false", "none", "' '", "'x'", "'\\n'"]),
)


def filtered(operand: str, name: str, args: list[str], keyword: bool) -> str:
    if not args:
        return f"{operand}|{name}"
    if keyword and name in FILTERS and FILTERS[name].params:
        first = FILTERS[name].params[0].name
        return f"{operand}|{name}({first}={args[0]})"
    return f"{operand}|{name}({', '.join(args)})"


def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(
            filtered,
            inner,
            st.sampled_from(FILTER_NAMES),
            st.lists(literals, max_size=3),
            st.booleans(),
        ),
        st.builds(lambda a, b: f"({a} ~ {b})", inner, inner),
        st.builds(lambda a, b, c: f"({a} if {b} else {c})", inner, inner, inner),
        st.builds(
            lambda a, op, b: f"({a} {op} {b})",
            inner,
            st.sampled_from(["==", "!=", "<", ">=", "in", "not in", "and", "or", "*", "%", "+"]),
            inner,
        ),
        st.builds(lambda a: f"(not {a})", inner),
        st.builds(lambda a, t: f"({a} is {t})", inner, st.sampled_from(["defined", "none"])),
    )


expressions = st.recursive(st.one_of(st.sampled_from(NAMES), literals), extend, max_leaves=12)


def extend_statements(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, b: a + b, inner, inner),
        st.builds(
            lambda test, body, other: f"{{% if {test} %}}{body}{{% else %}}{other}{{% endif %}}",
            expressions,
            inner,
            inner,
        ),
    )


templates = st.recursive(
    st.one_of(SAFE_TEXT, expressions.map(lambda e: f"{{{{ {e} }}}}")),
    extend_statements,
    max_leaves=6,
)

values = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda piece, times: piece * times, st.text(min_size=1, max_size=3), st.integers(0, 100_000)
    ),
)
variables = st.fixed_dictionaries({name: values for name in TEMPLATE_VARIABLES})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=templates, alert=variables)
def test_a_template_is_refused_or_renders_within_the_caps(
    source: str, alert: dict[str, Any]
) -> None:
    try:
        check_template(source, FIELD)
    except InvalidInput as refused:
        assert refused.field == FIELD
        return
    for cap in (MAX_TITLE_CHARS, MAX_DESCRIPTION_CHARS):
        try:
            text = render(source, alert, cap)
        except TemplateRenderError:
            continue
        assert isinstance(text, str)
        assert len(text) <= cap


@settings(max_examples=200, deadline=None)
@given(
    source=templates,
    alert=st.fixed_dictionaries({n: st.text(max_size=30) for n in TEMPLATE_VARIABLES}),
)
def test_what_is_allowed_renders_as_jinja_renders_it(source: str, alert: dict[str, Any]) -> None:
    try:
        check_template(source, FIELD)
        ours = render(source, alert, MAX_DESCRIPTION_CHARS)
    except (InvalidInput, TemplateRenderError):
        return
    if "default" in source or "|d" in source:  # ours also replaces an empty value (documented)
        return
    try:
        jinja = ImmutableSandboxedEnvironment(autoescape=False).from_string(source).render(**alert)
    except (TypeError, AttributeError):
        # Jinja's text filters refuse a number ('5|truncate' a TypeError, '5|wordwrap' an
        # AttributeError); ours take its text, as documented.
        return
    assert ours == jinja
