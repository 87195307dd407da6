"""What is left of the console's markup builder: slipdesk.py and permitdesk.py still build a few
pieces with it (Safe, bi, tag). Every other page is a Jinja2 template in templates/ (layout.html
around each, templating.py). Every value is escaped unless it is ``Safe``; Safe passes through a
template as markup (``__html__``) and a template's Markup passes through here."""
from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any


class Safe(str):
    """Markup built here from escaped parts; never wrap user data in it directly. Jinja2 (and
    markupsafe) take it as markup too, through ``__html__``."""

    def __html__(self) -> str:
        return self


def esc(value: Any) -> Safe:
    if isinstance(value, Safe):
        return value
    if hasattr(value, "__html__"):        # markup a Jinja2 template rendered (markupsafe.Markup)
        return Safe(value.__html__())
    return Safe(html.escape("" if value is None else str(value), quote=True))


VOID = frozenset({"input", "br", "meta", "img"})


def tag(_tag: str, _content: Any = "", /, **attrs: Any) -> Safe:
    """``<tag attrs>content</tag>``; attribute names ending in ``_`` lose it (class_ -> class)."""
    parts = []
    for key, val in attrs.items():
        if val is None or val is False:
            continue
        key = key.rstrip("_").replace("_", "-")
        parts.append(f" {key}" if val is True else f' {key}="{esc(val)}"')
    if _tag in VOID:
        return Safe(f"<{_tag}{''.join(parts)}>")
    return Safe(f"<{_tag}{''.join(parts)}>{esc(_content)}</{_tag}>")


def join(items: Iterable[Any], sep: str = "") -> Safe:
    return Safe(sep.join(esc(i) for i in items))


def bi(zh: Any, en: Any, cls: str = "") -> Safe:
    """Chinese first, English beneath."""
    return tag("span", join([tag("span", zh, class_="zh"), tag("span", en, class_="en")]), class_=("bi " + cls).strip())
