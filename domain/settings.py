"""Load TOML settings into frozen dataclasses, strictly, with pydantic.

Every section is a frozen dataclass; every field has a default, so the embedded
defaults run with no file at all. A file may set any subset. An unknown key, a wrong
type or a missing file is a ConfigError naming the file, the key and the expected
form, because a typo in a gate's config must not silently fall back to a default.

Validation is pydantic's, in strict mode with unknown keys forbidden. The parsed TOML
is handed to pydantic as JSON: in strict mode pydantic accepts a date or time only as
ISO text in JSON (never from a Python str), and a table only as a JSON object (never a
dict), so JSON is the one form in which strict mode reads a settings file. TOML's own
dates and times become their ISO text on the way; a TOML date or time written where a
string is expected is refused afterwards, as the file's author meant something else.
"""
from __future__ import annotations

import dataclasses
import functools
import tomllib
import types
import typing
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from annotated_types import Ge, Gt, Le, Lt
from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, to_json

from domain.errors import ConfigError
from domain.images import MAX_IMAGE_SIDE
from domain.slip_token import GATE_ID, GATE_ID_FORM

T = TypeVar("T")

#: How every settings dataclass is validated: no coercion between types, no unknown keys,
#: no NaN or infinity (TOML allows them; no setting means them).
STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

_Loc = tuple[int | str, ...]

#: Deeper than this a settings file means nothing: refused by name (tomllib and pydantic
#: would otherwise recurse until Python's RecursionError).
MAX_DEPTH = 16


# ----------------------------------------------------------------- what a value may mean
# Types for settings fields: the type checks the form, the constraint the meaning, and
# a refusal names the key and what is allowed (see `_message`).


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        raise ValueError(f"{name!r} is not a time zone; allowed: an IANA zone name such as 'Asia/Shanghai'") from None
    return name


def _gate_id(value: str) -> str:
    if not GATE_ID.fullmatch(value):
        raise ValueError(f"{value!r} is not a gate id the office accepts; allowed: {GATE_ID_FORM}")
    return value


TimeZoneName = Annotated[str, AfterValidator(_zone)]
GateId = Annotated[str, AfterValidator(_gate_id)]
#: An interval or timeout: more than nothing, at most a day.
Seconds = Annotated[float, Field(gt=0, le=86_400)]
#: A pause that may be none at all (poll back to back, no debounce), at most a day.
Delay = Annotated[float, Field(ge=0, le=86_400)]
#: A rate in frames per second.
Rate = Annotated[float, Field(gt=0, le=240)]
FrameRate = Annotated[int, Field(ge=1, le=240)]
#: A count of things per batch or in a row.
Count = Annotated[int, Field(ge=1, le=1_000_000)]
#: A side of an image or a screen, in pixels.
Pixels = Annotated[int, Field(ge=1, le=MAX_IMAGE_SIDE)]


@functools.cache
def _adapter(cls: Any) -> TypeAdapter[Any]:
    # The config goes on a one-element tuple around the class: pydantic refuses a config for a
    # dataclass itself, and a stdlib dataclass without its own config takes its container's.
    return TypeAdapter(tuple[cls], config=STRICT)


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin in (tuple, list, frozenset):
        args = typing.get_args(tp)
        return f"a list of {_describe(args[0])}" if args else "a list"
    if origin is dict or dataclasses.is_dataclass(tp):
        return "a table"
    if tp is type(None):
        return "nothing"
    if tp is date:
        return "a date (YYYY-MM-DD)"
    if tp is time:
        return 'a time ("HH:MM")'
    if isinstance(tp, type) and hasattr(tp, "__members__"):  # enum
        return "one of " + ", ".join(repr(m.value) for m in tp)  # type: ignore[attr-defined]
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false",
            Path: "a path (a string)"}.get(tp, str(tp))


def _path(where: str, loc: _Loc) -> str:
    out = where
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _type_at(cls: type, loc: _Loc) -> Any:
    """The declared type at ``loc`` inside ``cls``; None where the path leaves the declarations."""
    tp: Any = cls
    for part in loc:
        origin = typing.get_origin(tp)
        if dataclasses.is_dataclass(tp) and isinstance(part, str):
            tp = typing.get_type_hints(tp).get(part)
        elif origin in (tuple, list, frozenset) and isinstance(part, int):
            tp = (typing.get_args(tp) or (Any,))[0]
        elif origin is dict:
            tp = (typing.get_args(tp) or (Any, Any))[-1]
        else:
            return None
        if tp is None:
            return None
    return tp


def _value_at(data: Any, loc: _Loc) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _message(cls: type, data: dict[str, Any], where: str, err: Any) -> str:
    loc: _Loc = tuple(err["loc"])[1:]          # [0] is the tuple pydantic validates
    here = _path(where, loc)
    if err["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        parent = _type_at(cls, loc[:-1])
        known = ", ".join(sorted(f.name for f in dataclasses.fields(parent))) if dataclasses.is_dataclass(parent) else ""
        return f"{here}: unknown key (known keys here: {known})"
    tp = _type_at(cls, loc)
    if err["type"] == "value_error":
        return f"{here or where or cls.__name__}: {str(err['msg']).removeprefix('Value error, ')}"
    if err["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{here}: got {_value_at(data, loc)!r}; allowed: {_allowed(cls, loc)}"
    if tp is None or err["type"] == "assertion_error":
        return f"{here or where or cls.__name__}: {err['msg']}"
    return f"{here}: expected {_describe(tp)}, got {_value_at(data, loc)!r}"


def _allowed(cls: type, loc: _Loc) -> str:
    """A field's range as a person reads it: "a number > 0 and <= 86400"."""
    parent = _type_at(cls, loc[:-1])
    name = loc[-1] if loc else None
    if not dataclasses.is_dataclass(parent) or not isinstance(name, str):
        return "see config/ for the allowed range"
    hint = typing.get_type_hints(parent, include_extras=True).get(name)
    base = typing.get_type_hints(parent).get(name)
    bounds = []
    for m in getattr(hint, "__metadata__", ()):
        for c in getattr(m, "metadata", [m]):
            for kind, attr, sign in ((Gt, "gt", ">"), (Ge, "ge", ">="), (Lt, "lt", "<"), (Le, "le", "<=")):
                if isinstance(c, kind):
                    bounds.append(f"{sign} {getattr(c, attr)}")
    what = "an integer" if base is int else "a number"
    return f"{what} {' and '.join(bounds)}" if bounds else what


def _too_deep(data: Any, limit: int, loc: _Loc = ()) -> _Loc | None:
    """Where a value nests deeper than ``limit`` tables or lists, if it does (iteratively: no recursion)."""
    stack: list[tuple[Any, _Loc]] = [(data, loc)]
    while stack:
        value, at = stack.pop()
        if len(at) > limit:
            return at[:limit + 1]
        if isinstance(value, dict):
            stack.extend((v, (*at, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*at, i)) for i, v in enumerate(value))
    return None


def _native_misplaced(raw: Any, built: Any, cls: type, loc: _Loc = ()) -> _Loc | None:
    """Where a TOML date or time (text once it is JSON) landed in a field that is not one."""
    if isinstance(raw, dict) and dataclasses.is_dataclass(built):
        for key, value in raw.items():
            found = _native_misplaced(value, getattr(built, key), cls, (*loc, key))
            if found is not None:
                return found
    elif isinstance(raw, list) and isinstance(built, (tuple, list, frozenset)) and not isinstance(built, frozenset):
        for i, (value, item) in enumerate(zip(raw, built)):
            found = _native_misplaced(value, item, cls, (*loc, i))
            if found is not None:
                return found
    elif isinstance(raw, (date, time)) and not isinstance(built, (date, time)):
        return loc
    elif isinstance(built, time) and built.tzinfo is not None:
        return loc          # "08:30+08:00": the estate's hours are wall-clock times in its own zone
    return None


def build(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    """Make ``cls`` from a parsed TOML table (or JSON object), rejecting unknown keys and wrong types.

    ``where`` prefixes the key in messages (a table name, "rule large_item_hours")."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or cls.__name__}: expected a table, got {data!r}")
    deep = _too_deep(data, MAX_DEPTH)
    if deep is not None:
        raise ConfigError(f"{_path(where, deep[:3])}: nested more than {MAX_DEPTH} tables or lists deep; "
                          "allowed: the tables and values of config/ (no setting nests that deep)")
    try:
        text = to_json([data])
    except PydanticSerializationError as exc:     # not from TOML or JSON: a caller's mistake
        raise ConfigError(f"{where or cls.__name__}: cannot be read as settings: {exc}") from None
    try:
        (built,) = _adapter(typing.cast(Any, cls)).validate_json(text)
    except ValidationError as exc:
        raise ConfigError(_message(cls, data, where, exc.errors()[0])) from None
    misplaced = _native_misplaced(data, built, cls)
    if misplaced is not None:
        raise ConfigError(f"{_path(where, misplaced)}: expected {_describe(_type_at(cls, misplaced))}, "
                          f"got {_value_at(data, misplaced)!r}")
    return typing.cast(T, built)


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
    except RecursionError:
        raise ConfigError(f"{p}: a value is nested too deeply to read (tables or lists within each other); "
                          f"allowed: at most {MAX_DEPTH} levels") from None


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
