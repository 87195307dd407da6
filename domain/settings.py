"""Load TOML settings into frozen dataclasses, strictly.

Every section is a frozen dataclass; every field has a default, so the embedded
defaults run with no file at all. A file may set any subset. An unknown key, a wrong
type or a missing file is a ConfigError naming the file, the key and the expected
form, because a typo in a gate's config must not silently fall back to a default.
"""
from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from datetime import date, time
from pathlib import Path
from typing import Any, TypeVar

from domain.errors import ConfigError

T = TypeVar("T")


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin in (tuple, list, frozenset):
        args = typing.get_args(tp)
        return f"a list of {_describe(args[0])}" if args else "a list"
    if dataclasses.is_dataclass(tp):
        return "a table"
    if tp is type(None):
        return "nothing"
    if tp is date:
        return "a date (YYYY-MM-DD)"
    if tp is time:
        return 'a time ("HH:MM")'
    if isinstance(tp, type) and issubclass(tp, typing.SupportsInt) and tp is not bool and hasattr(tp, "__members__"):
        return "one of " + ", ".join(repr(m.value) for m in tp)  # type: ignore[attr-defined]
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(tp, str(tp))


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        errors = []
        for arg in typing.get_args(tp):
            try:
                return _convert(value, arg, where)
            except ConfigError as exc:
                errors.append(exc)
        raise ConfigError(f"{where}: expected {_describe(tp)}, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected nothing, got {value!r}")
    if origin in (tuple, list, frozenset):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected {_describe(tp)}, got {value!r}")
        (arg, *_rest) = typing.get_args(tp) or (Any,)
        items = [_convert(v, arg, f"{where}[{i}]") for i, v in enumerate(value)]
        return origin(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return build(tp, value, where)
    if isinstance(tp, type) and hasattr(tp, "__members__"):  # enum
        try:
            return tp(value)
        except ValueError:
            raise ConfigError(f"{where}: expected {_describe(tp)}, got {value!r}") from None
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is date:
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
    elif tp is time:
        if isinstance(value, time):
            return value
        if isinstance(value, str):
            try:
                return time.fromisoformat(value)
            except ValueError:
                pass
    elif tp is Path:
        if isinstance(value, str):
            return Path(value)
    raise ConfigError(f"{where}: expected {_describe(tp)}, got {value!r}")


def build(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    """Make ``cls`` from a parsed TOML table, rejecting unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        here = f"{where}.{key}" if where else key
        if name not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{here}: unknown key (known keys here: {known})")
        kwargs[name] = _convert(value, hints[name], here)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or cls.__name__}: {exc}") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """A settings file as a dict; a missing, unreadable, non-UTF-8 or malformed file is a ConfigError."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None


def load(cls: type[T], path: str | Path | None) -> T:
    """Read ``path`` (TOML) into ``cls``; with no path, the embedded defaults."""
    if path is None:
        return cls()
    data = read_toml(path)
    try:
        return build(cls, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_table(cls: type[T], path: str | Path, table: str) -> T:
    """One table of a settings file (e.g. the kiosk file's [gpio] for `gatepass gpio-test`),
    as strictly as `load` checks it; the file's other tables are not this caller's business."""
    data = read_toml(path).get(table, {})
    try:
        return build(cls, data, table)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
