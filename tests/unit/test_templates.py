"""Ticket templates on plain values: what is refused on save, and what a render may cost."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from fleetward.domain.errors import InvalidInput
from fleetward.domain.templates import (
    CUT_MARKER,
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    TEMPLATE_CACHE_SIZE,
    TemplateRenderError,
    check_template,
    render,
)

FIELD = "actions.title_template"
ALERT = {
    "device": "SRV-01",
    "message": "Disk C: is 97% full",
    "severity": "critical",
    "organization": "org-1",
    "client": "Contoso",
    "site": "",
    "title": "Disk almost full",
    "provider": "ninjaone",
    "occurred_at": "2026-12-07T10:00:00+00:00",
}
MB = 1024 * 1024


def peak_bytes(action: Callable[[], Any]) -> int:
    """The most memory Python held above its starting point while `action` ran."""
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        action()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def refused_reason(source: str, field: str = FIELD) -> str:
    with pytest.raises(InvalidInput) as caught:
        check_template(source, field)
    assert caught.value.field == field
    return str(caught.value)


# The templates, their numbers made smaller so that the code before the fix
# (which built the strings on save) fails these tests in a second instead of minutes.
GROWING_TEMPLATES = [
    "{{ 'x'|center('9999999'|int) }}",
    "{{ 'x'|center('9999999'|float|int) }}",
    "{{ 'x'|center('9999999') }}",
    "{{ '%9999999s'|format('x') }}",
    "{{ '%9999999s' % 'x' }}",
    "{{ 'x'|center(5000) }}",
    "{{ message|indent(5000) }}",
    "{{ message|wordwrap(5000) }}",
    "{{ message|truncate(9999999) }}",
    "{{ message|replace('a', 'b', '9999999'|int) }}",
    "{{ message|center(device|length) }}",
    "{{ 'x'|center(9999 + 9999) }}",
]


@pytest.mark.parametrize("source", GROWING_TEMPLATES)
def test_sizes_from_strings_numbers_or_past_the_caps_are_refused_on_save(source: str) -> None:
    assert FIELD in refused_reason(source)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ 'x'|center('9999999'|int) }}", "filter center takes literal arguments only"),
        ("{{ 'x'|center(5000) }}", "width must be between 0 and 200"),
        ("{{ '%9999999s'|format('x') }}", "no filter named 'format'"),
        ("{{ '%9999999s' % 'x' }}", "the % operator"),
        ("{{ message|attr('__class__') }}", "no filter named 'attr'"),
        ("{{ message.__class__ }}", "attributes"),
        ("{{ message['__class__'] }}", "subscripts"),
        ("{{ self }}", "no variable named 'self'"),
        ("{% set x = message %}{{ x }}", "set"),
        ("{{ 1 + 1 }}", "arithmetic"),
        ("{{ (" * 300 + "1" + ")" * 300 + " }}", "nests deeper"),
    ],
)
def test_a_refusal_says_what_is_not_allowed(source: str, reason: str) -> None:
    assert reason in refused_reason(source)


@pytest.mark.parametrize(
    "source",
    [
        "{{ message|attr('__class__') }}",
        "{{ message|attr('upper') }}",
        "{{ (message|attr('__class__')).__mro__ }}",
        "{{ message|map(attribute='__class__')|list }}",
        "{{ message.__class__ }}",
        "{{ message['__class__'] }}",
        "{{ lipsum }}",
        "{{ cycler }}",
        "{{ namespace }}",
    ],
)
def test_attributes_and_globals_are_refused_on_save(source: str) -> None:
    refused_reason(source)


def test_no_template_builds_its_strings_on_save() -> None:
    # Chained replace multiplies a literal by ten at each step: 10**7 characters if
    # the template were evaluated (constant-folded) when saved.
    grow = "|replace('x', 'xxxxxxxxxx')" * 6
    source = "{{ 'x'" + grow + " }}"
    used = peak_bytes(lambda: check_template(source, FIELD))
    assert used < 2 * MB, f"checking the template held {used / MB:.1f} MB"


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x'" + "|replace('x', 'xxxxxxxxxx')" * 6 + " }}",
        "{{ message" + "|replace(' ', '          ')" * 6 + " }}",
        "{{ message|center(200)" + "|replace(' ', '                    ')" * 4 + " }}",
        "{{ device|center(200) ~ device ~ device ~ device ~ device ~ device }}",
        "{{ message|indent(32, true, true)|indent(32, true, true)|indent(32, true, true) }}",
        "{{ message|wordwrap(10)|wordwrap(10)|wordwrap(10)|wordwrap(10) }}",
    ],
)
def test_a_render_is_bounded_whatever_the_variables_hold(source: str) -> None:
    check_template(source, FIELD)
    huge = {**ALERT, "device": "D" * 500_000, "message": "word \n" * 100_000}
    outcome: list[str] = []

    def render_both() -> None:
        for cap in (MAX_TITLE_CHARS, MAX_DESCRIPTION_CHARS):
            try:
                outcome.append(render(source, huge, cap))
            except TemplateRenderError:
                outcome.append("")

    used = peak_bytes(render_both)
    assert len(outcome[0]) <= MAX_TITLE_CHARS
    assert len(outcome[1]) <= MAX_DESCRIPTION_CHARS
    # A couple of copies of a capped value, never the product of the filters.
    assert used < 16 * MB, f"rendering held {used / MB:.1f} MB"


def test_a_long_title_is_cut_at_255_characters_with_a_marker() -> None:
    source = "{{ device|center(200) }}: {{ title }}"
    check_template(source, FIELD)
    title = render(source, {**ALERT, "device": "D" * 100_000}, MAX_TITLE_CHARS)
    assert len(title) == MAX_TITLE_CHARS == 255
    assert title == "D" * 254 + CUT_MARKER


def test_a_long_description_is_cut_at_64_kib_with_a_marker() -> None:
    source = "Alert on {{ device }}:\n{{ message }}\n{{ message }}"
    check_template(source, "actions.description_template")
    description = render(source, {**ALERT, "message": "m" * 100_000}, MAX_DESCRIPTION_CHARS)
    assert len(description) == MAX_DESCRIPTION_CHARS == 64 * 1024
    assert description.endswith("m" + CUT_MARKER)
    # Output within the cap is left alone.
    assert render(source, ALERT, MAX_DESCRIPTION_CHARS).count("Disk C: is 97% full") == 2


@pytest.mark.parametrize(
    "source",
    [
        "{{ severity < 1 }}",
        "{{ 1 in message }}",
        "{{ message" + "|replace(' ', '          ')" * 6 + " }}",
    ],
)
def test_a_failing_render_raises_the_one_domain_error(source: str) -> None:
    check_template(source, FIELD)
    with pytest.raises(TemplateRenderError):
        render(source, {**ALERT, "message": "a b " * 10_000}, MAX_TITLE_CHARS)


def test_a_template_saved_before_the_limits_fails_at_render_with_the_domain_error() -> None:
    # Stored rules are not re-checked on upgrade: the pipeline falls back on these.
    with pytest.raises(TemplateRenderError, match="template refused"):
        render("{{ message|int }}", ALERT, MAX_TITLE_CHARS)


# The allowed grammar renders as Jinja2 renders it.
SAME_AS_JINJA = [
    "{{ device }}: {{ title }}",
    "[{{ severity|upper }}] {{ client|lower }} / {{ title|title }} {{ message|capitalize }}",
    "{% if severity == 'critical' %}URGENT {% elif severity in 'major minor' %}x{% endif %}",
    "{% if severity == 'critical' %}URGENT{% elif severity == 'major' %}HIGH{% else %}-{% endif %}",
    "{{ device ~ ' @ ' ~ client ~ 1 ~ true ~ none }}",
    "{{ 'yes' if site else 'no site' }} {{ 'x' if not client }}",
    "{{ message|truncate(10) }}|{{ message|truncate(12, true, '>') }}",
    "{{ message|truncate(9, leeway=0) }}|{{ message|truncate(length=11, killwords=true) }}",
    "{{ message|replace('%', ' percent') }} {{ message|replace(' ', '_', 2) }}",
    "{{ '  pad  '|trim }}|{{ '--x--'|trim('-') }}|{{ device|center(12) }}|",
    "{{ message|length }} {{ message|count }} {{ 5|string }}",
    "{{ none|upper }} {{ 5|center(5) }} {{ true|lower }}",
    "{{ 'a\nb\n\nc'|indent(2) }}|{{ 'a\nb\n\nc'|indent(2, true, true) }}",
    "{{ message|wordwrap(10) }}|{{ message|wordwrap(10, false, '|') }}",
    "{{ severity == 'critical' and client != '' }} {{ site or 'none' }} {{ 1 < 2 < 3 }}",
    "{% if client is defined and site is not none %}{{ client }}{% endif %}",
    "{% raw %}{{ literal }}{% endraw %}{# a comment #} {%- if true -%} trimmed {%- endif %}",
]


@pytest.mark.parametrize("source", SAME_AS_JINJA)
def test_the_allowed_grammar_renders_as_jinja_does(source: str) -> None:
    check_template(source, FIELD)
    jinja = ImmutableSandboxedEnvironment(autoescape=False).from_string(source).render(**ALERT)
    assert render(source, ALERT) == jinja


def test_default_replaces_an_empty_or_missing_value() -> None:
    source = "{{ site|default('no site') }} {{ client|d('nobody') }}"
    check_template(source, FIELD)
    assert render(source, {"client": "Contoso", "site": ""}) == "no site Contoso"
    assert render(source, {}) == "no site nobody"


def test_the_parsed_template_cache_stops_growing_at_its_size() -> None:
    def check_many(first: int, count: int) -> None:
        for number in range(first, first + count):
            check_template(f"{{{{ device|upper }}}}: {{{{ title }}}} #{number}", FIELD)

    tracemalloc.start()
    try:
        check_many(10**6, TEMPLATE_CACHE_SIZE)  # the cache is full of these now
        full = tracemalloc.get_traced_memory()[0]
        check_many(2 * 10**6, 3 * TEMPLATE_CACHE_SIZE)  # they push the first ones out
        grown = tracemalloc.get_traced_memory()[0] - full
    finally:
        tracemalloc.stop()
    assert grown < 256 * 1024, f"the cache grew by {grown / 1024:.0f} KiB once full"
