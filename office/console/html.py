"""Server-rendered HTML without a template engine: every value is escaped unless it is
``Safe`` (markup this module or a page built). No scripts, no external assets."""
from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from office.console.auth import Session


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


def csrf_field(session: Session) -> Safe:
    return Safe(f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">')


def post_button(action: str, session: Session, label: Any, cls: str = "") -> Safe:
    return tag("form", join([csrf_field(session), tag("button", label, type="submit", class_=cls or None)]),
               method="post", action=action, style="margin:0")
