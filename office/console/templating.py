"""Jinja2 for the console's pages: templates in office/console/templates, autoescaped.

Every value a template shows is escaped unless it is marked safe here (a QR code's SVG that
segno drew from a signed token, nothing a person typed)."""
from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup


@cache
def environment() -> Environment:
    return Environment(loader=PackageLoader("office.console", "templates"), autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def macro(name: str, *args: Any) -> Markup:
    """One macro of macros.html called from Python, as markup (a piece a page shares with a template)."""
    return Markup(getattr(environment().get_template("macros.html").module, name)(*args))
