"""Typed settings: one small validation layer for scene files and live control messages.

A plugin declares what it can be told with :class:`Setting` objects (returned from its
``posestage_settings()`` hook); the stage declares its own ``[stage]`` keys the same way
(:data:`posestage.config.scenes.STAGE_SETTINGS`). :func:`validate` checks a mapping of values against
such a schema and returns a :class:`Values` (a dict whose keys also read as attributes) with
every declared setting present — defaults filled in — or raises
:class:`~posestage.errors.SceneError` with one line naming where, the key path, what was
expected and the valid choices::

    scenes/x.toml: plugins.skeleton.thikness: unknown setting (did you mean 'thickness'?); valid: thickness, …
    scenes/x.toml: plugins.skeleton.thickness: expected a whole number from 1 to 20, got '3' (text)
    scenes/x.toml: plugins.skeleton.color_by: 'colour' is not a valid choice; valid: 'id', 'slot'

Live control (the stage's control port, ``stage.post()``) uses the same call with
``partial=True`` (validate only the keys given, no defaults), ``coerce=True`` (accept text such as
``"3"`` or ``"true"``, as a typed-in or OSC string value would arrive) and ``live=True``: a
setting declared ``live=False`` — one that names a file, a folder, a host, a port or an address
to listen on — is then refused (it changes only with the scene file, which is the operator's).
A list or table whose settings include one that is not live is not live either.

Text has a sane length: every ``str`` setting (and every text item of a list) holds at most
``max_length`` characters, :data:`MAX_TEXT` unless the declaration says otherwise.

Supported types: ``bool``, ``int``, ``float`` (an int is accepted and becomes a float), ``str``,
``list`` (optionally each ``item`` of one type, or each a table checked against ``schema``) and
``dict`` (a sub-table checked against ``schema``). ``parse`` is an optional converter for
values with a shape of their own (e.g. ``"640x480"``): it receives the type-checked value and
returns the converted one, or raises ``ValueError`` whose text says what was expected. A
:class:`~posestage.config.vocabulary.Vocabulary` (``SIZE``, ``SCORE``, ``DEVICE``…) is the usual
``parse``: it also checks the range and choices, and says what it expects in its own words —
the same words the command line uses for the same vocabulary.
A default of ``None`` means "not set": the consumer picks (e.g. the model's own input size).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from posestage.config.vocabulary import SIZE, Vocabulary
from posestage.errors import SceneError, did_you_mean

#: The longest text a ``str`` setting holds unless its declaration says (``max_length``).
MAX_TEXT = 200

_TYPE_NAMES = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text",
    list: "a list",
    dict: "a table",
}


@dataclass(frozen=True)
class Setting:
    """One named, typed setting a plugin (or the stage) accepts.

    ``name``: the key in the scene file / control message. ``type``: one of bool, int, float,
    str, list, dict. ``default``: used when the scene does not set it (``None`` = not set).
    ``help``: one line for ``posestage plugins`` and docs. ``choices``: the only values
    allowed. ``min``/``max``: inclusive numeric bounds. ``item``: element type of a list;
    ``schema``: settings of each table in a list of tables, or of a dict sub-table.
    ``parse``: optional converter, see the module docstring. ``live``: False for a setting
    that names a file, a folder, a host, a port or an address — live control cannot change it,
    only the scene file. ``max_length``: the longest text (``str`` settings and text items),
    :data:`MAX_TEXT` when not given.
    """

    name: str
    type: type
    default: Any = None
    help: str = ""
    choices: Sequence[Any] | None = None
    min: float | None = None
    max: float | None = None
    item: type | None = None
    schema: Sequence[Setting] | None = None
    parse: Callable[[Any], Any] | None = None
    live: bool = True
    max_length: int | None = None

    def __post_init__(self) -> None:
        if self.type not in _TYPE_NAMES:
            raise TypeError(
                f"setting {self.name!r}: type must be one of bool, int, float, str, list, dict"
            )
        if self.schema is not None:
            if not all(s.live for s in self.schema):  # a table naming a host is not live
                object.__setattr__(self, "live", False)
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))
        if self.default is not None:
            # A declaration whose own default is invalid is a plugin bug: say so at load time.
            try:
                self.check(self.default, "default")
            except SceneError as err:
                raise ValueError(f"setting {self.name!r} has an invalid default: {err}") from None

    def expected(self) -> str:
        """What a valid value looks like, in words (used in error messages and docs)."""
        if isinstance(self.parse, Vocabulary):
            return self.parse.expected
        if self.choices is not None:
            return "one of " + ", ".join(_show(c) for c in self.choices)
        text = _TYPE_NAMES[self.type]
        if self.type is list and self.item is not None:
            text += " of " + _TYPE_NAMES[self.item].removeprefix("a ")
        if self.min is not None and self.max is not None:
            text += f" from {_show(self.min)} to {_show(self.max)}"
        elif self.min is not None:
            text += f" >= {_show(self.min)}"
        elif self.max is not None:
            text += f" <= {_show(self.max)}"
        return text

    def check(self, value: Any, path: str, *, coerce: bool = False) -> Any:
        """The validated (and converted) value, or :class:`SceneError` naming ``path``.

        ``None`` is accepted for a setting whose default is ``None`` ("not set"): validated
        settings hold it, and the host validates them again when it activates a scene.
        """
        if value is None and self.default is None:
            return None
        got = _coerce(value, self.type) if coerce else value
        if not _is_type(got, self.type):
            raise SceneError(f"{path}: expected {self.expected()}, got {_describe(value)}")
        if isinstance(self.parse, Vocabulary):  # range, choices, finiteness: its own words
            try:
                return self.parse(float(got) if self.type is float else got)
            except ValueError as err:
                raise SceneError(f"{path}: {err}") from None
        if self.type is str:
            self._check_length(got, path)
        if self.type is float:
            got = float(got)
            if not math.isfinite(got):
                raise SceneError(f"{path}: expected a finite number, got {_show(value)}")
        if self.choices is not None and got not in self.choices:
            valid = ", ".join(_show(c) for c in self.choices)
            hint = did_you_mean(str(got), [str(c) for c in self.choices])
            raise SceneError(f"{path}: {_show(got)} is not a valid choice{hint}; valid: {valid}")
        if self.type in (int, float):
            if (self.min is not None and got < self.min) or (
                self.max is not None and got > self.max
            ):
                raise SceneError(
                    f"{path}: {_show(got)} is out of range; expected {self.expected()}"
                )
        if self.type is list:
            got = [self._check_item(v, f"{path}[{i}]", coerce) for i, v in enumerate(got)]
        elif self.type is dict and self.schema is not None:
            got = validate(got, self.schema, path, coerce=coerce)
        if self.parse is not None:
            try:
                got = self.parse(got)
            except (ValueError, TypeError) as err:
                raise SceneError(f"{path}: {err}") from None
        return got

    @property
    def longest(self) -> int:
        """The longest text this setting holds."""
        return MAX_TEXT if self.max_length is None else self.max_length

    def _check_length(self, text: str, path: str) -> None:
        if len(text) > self.longest:
            raise SceneError(f"{path}: text of {len(text)} characters; at most {self.longest}")

    def _check_item(self, value: Any, path: str, coerce: bool) -> Any:
        if self.schema is not None:
            if not isinstance(value, Mapping):
                raise SceneError(f"{path}: expected a table, got {_describe(value)}")
            return validate(value, self.schema, path, coerce=coerce)
        if self.item is None:
            return value
        got = _coerce(value, self.item) if coerce else value
        if not _is_type(got, self.item):
            raise SceneError(f"{path}: expected {_TYPE_NAMES[self.item]}, got {_describe(value)}")
        if self.item is str:
            self._check_length(got, path)
        return float(got) if self.item is float else got


class Values(dict):
    """Validated settings: a plain dict whose keys also read as attributes (``s.thickness``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def validate(
    values: Mapping[str, Any] | None,
    schema: Sequence[Setting],
    where: str,
    *,
    partial: bool = False,
    coerce: bool = False,
    live: bool = False,
) -> Values:
    """Check ``values`` against ``schema``; return every declared setting (defaults filled in).

    ``where`` prefixes every key path in errors, e.g. ``"scenes/x.toml: plugins.skeleton"``
    gives ``scenes/x.toml: plugins.skeleton.thikness: unknown setting; valid: …``.
    ``partial=True`` returns only the keys given (live updates); ``coerce=True`` accepts text
    for numbers and booleans; ``live=True`` (a change while the show runs) refuses the settings
    declared ``live=False``. Raises :class:`~posestage.errors.SceneError` at the first bad key.
    """
    values = {} if values is None else values
    if not isinstance(values, Mapping):
        raise SceneError(f"{where}: expected a table of settings, got {_describe(values)}")
    by_name = {s.name: s for s in schema}
    out = Values()
    for key, value in values.items():
        setting = by_name.get(key)
        if setting is None:
            valid = ", ".join(by_name) if by_name else "(this takes no settings)"
            hint = did_you_mean(str(key), list(by_name))
            raise SceneError(f"{where}.{key}: unknown setting{hint}; valid: {valid}")
        if live and not setting.live:
            raise SceneError(
                f"{where}.{key} cannot be changed live (it names a file, folder, host or "
                "address); change it in the scene file"
            )
        out[key] = setting.check(value, f"{where}.{key}", coerce=coerce)
    if not partial:
        for setting in schema:
            if setting.name not in out:
                out[setting.name] = _copy(setting.default)
        out = Values((s.name, out[s.name]) for s in schema)  # declaration order
    return out


def describe(schema: Sequence[Setting]) -> list[str]:
    """One line per setting, ``name = default  (expected) help``, for listings and docs."""
    lines = []
    for s in schema:
        default = "(not set)" if s.default is None else _show(s.default)
        help_text = f"  {s.help}" if s.help else ""
        if not s.live:
            help_text += " (scene file only: not changed live)"
        lines.append(f"{s.name} = {default}  ({s.expected()}){help_text}")
    return lines


#: ``"640x480"`` → ``(640, 480)``: the frame-size vocabulary (:data:`posestage.config.vocabulary.SIZE`),
#: a ``parse`` for size settings. Kept under this name for plugins.
parse_size = SIZE


def _is_type(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is list:
        return isinstance(value, (list, tuple))
    if kind is dict:
        return isinstance(value, Mapping)
    return isinstance(value, kind)


def _coerce(value: Any, kind: type) -> Any:
    """Text → bool/int/float where it reads unambiguously (live control values)."""
    if not isinstance(value, str):
        if kind is bool and isinstance(value, int) and value in (0, 1):
            return bool(value)
        if kind is int and isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    text = value.strip().lower()
    try:
        if kind is bool and text in ("true", "on", "yes", "1", "false", "off", "no", "0"):
            return text in ("true", "on", "yes", "1")
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        pass
    return value


def _describe(value: Any) -> str:
    kind = {bool: "true/false", int: "a whole number", float: "a number", str: "text"}.get(
        type(value), "a list" if isinstance(value, (list, tuple)) else
        "a table" if isinstance(value, Mapping) else type(value).__name__
    )  # fmt: skip
    shown = _show(value)
    if len(shown) > 40:
        shown = shown[:39] + "…"
    return f"{shown} ({kind})"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"' if value == "" or value.strip() != value else repr(value)
    return repr(value) if not isinstance(value, float) else f"{value:g}"


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value
