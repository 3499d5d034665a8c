"""Every colour the dashboard draws is a variable of app.css's :root, so dark mode
(the prefers-color-scheme block, which gives each variable its dark value) can
swap them all: none is written anywhere else, in any stylesheet or a template."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "src" / "fleetward" / "web"
STYLESHEET = WEB / "static" / "app.css"
# Every stylesheet of the dashboard (not the vendored ones under static/swagger/).
STYLESHEETS = sorted((WEB / "static").glob("*.css"))
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch)\(")
# The two palettes: the light :root and the dark one inside the media query.
PALETTE = re.compile(
    r"^:root \{.*?^\}|^@media \(prefers-color-scheme: dark\) \{.*?^\}", re.M | re.S
)
VARIABLE = re.compile(r"(--[\w-]+):")
# In markup (and the Python that writes SVG), a colour given to an attribute or a
# style: fill="#123456", style="color: rgb(...)"; not an anchor like #dead-letters.
MARKUP_COLOUR = re.compile(
    r"(?:fill|stroke|stop-color|color|background(?:-color)?)\s*[=:]\s*[\"']?\s*"
    r"(?:#[0-9a-fA-F]{3,8}\b|(?:rgba?|hsla?)\()"
)
PAGES = WEB.parent / "entrypoints" / "http" / "pages"


def palettes() -> list[str]:
    found = PALETTE.findall(STYLESHEET.read_text())
    assert len(found) == 2, "app.css should have the light :root and the dark one"
    return found


def test_no_colour_is_written_outside_the_two_palettes() -> None:
    assert STYLESHEET in STYLESHEETS and len(STYLESHEETS) > 1
    lines = [
        f"{sheet.name}: {line.strip()}"
        for sheet in STYLESHEETS
        for line in PALETTE.sub("", sheet.read_text()).splitlines()
        if COLOUR.search(line)
    ]
    assert lines == [], "use a :root variable instead of these colours"


def test_every_light_colour_has_a_dark_value() -> None:
    palettes()  # app.css holds them
    found = [found for sheet in STYLESHEETS for found in PALETTE.findall(sheet.read_text())]
    light = "\n".join(palette for palette in found if palette.startswith(":root"))
    dark = "\n".join(palette for palette in found if palette.startswith("@media"))
    coloured = {
        name
        for line in light.splitlines()
        if COLOUR.search(line)
        for name in VARIABLE.findall(line)
    }
    missing = sorted(coloured - set(VARIABLE.findall(dark)))
    assert missing == [], f"variables with no value in the dark scheme: {missing}"


def test_templates_and_pages_write_no_colours_of_their_own() -> None:
    sources = [*sorted((WEB / "templates").glob("**/*.html")), *sorted(PAGES.glob("*.py"))]
    found = [
        f"{source.name}: {line.strip()}"
        for source in sources
        for line in source.read_text().splitlines()
        if MARKUP_COLOUR.search(line)
    ]
    assert found == [], "templates and their SVG use classes, currentColor or variables"
