"""Typed configuration trees: dataclasses <-> plain YAML data, with checked overrides.

A config is a tree of dataclasses whose fields are plain types (bool, int, float, str, None, lists,
tuples, dicts with str keys, Literal choices, nested dataclasses). This module converts such a tree to
plain data (``to_dict``) that ``yaml.safe_load`` reads back, builds a tree from plain data while
checking every key and type (``from_dict``), and applies dotted overrides such as
``fit.stages.0.iterations=100``. Errors name the offending key and say what was expected.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from hoFit.errors import HoFitError

__all__ = ["to_dict", "from_dict", "merge", "apply_overrides", "parse_override", "read_yaml", "write_yaml"]

T = TypeVar("T")
_YAML11_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def to_dict(config: Any) -> Any:
    """Dataclass tree -> plain data (dicts, lists, scalars) that YAML can hold."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, (list, tuple)):
        return [to_dict(item) for item in config]
    if isinstance(config, dict):
        return {str(key): to_dict(value) for key, value in config.items()}
    if isinstance(config, Path):
        return str(config)
    return config


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _convert(tp: Any, value: Any, key: str) -> Any:
    """Check ``value`` against type ``tp`` and convert it (lists to tuples, dicts to dataclasses)."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None:
            if type(None) in options:
                return None
            raise HoFitError(f"config key '{key}': expected {_type_name(tp)}, got null")
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, key)
            except HoFitError as error:
                errors.append(str(error))
        raise HoFitError(f"config key '{key}': expected {_type_name(tp)}, got {_describe(value)}")
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise HoFitError(f"config key '{key}': expected one of {list(choices)}, got {_describe(value)}")
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise HoFitError(f"config key '{key}': expected a mapping for {tp.__name__}, got {_describe(value)}")
        return from_dict(tp, value, prefix=key)
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise HoFitError(f"config key '{key}': expected a list, got {_describe(value)}")
        args = get_args(tp)
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                raise HoFitError(f"config key '{key}': expected {len(args)} items, got {len(value)}")
            return tuple(_convert(a, v, f"{key}.{i}") for i, (a, v) in enumerate(zip(args, value)))
        item_type = args[0] if args else Any
        items = [_convert(item_type, v, f"{key}.{i}") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or tp is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise HoFitError(f"config key '{key}': expected a mapping, got {_describe(value)}")
        args = get_args(tp)
        value_type = args[1] if args else Any
        return {str(k): _convert(value_type, v, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise HoFitError(f"config key '{key}': expected true or false, got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise HoFitError(f"config key '{key}': expected an integer, got {_describe(value)}")
        return value
    if tp is float:
        if isinstance(value, str) and _YAML11_FLOAT.fullmatch(value.strip()):
            # PyYAML (YAML 1.1) reads "1e-3" (no dot) as a string; accept it where a number is expected.
            return float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise HoFitError(f"config key '{key}': expected a number, got {_describe(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise HoFitError(f"config key '{key}': expected a string, got {_describe(value)}")
        return value
    if tp is type(None):
        if value is not None:
            raise HoFitError(f"config key '{key}': expected null, got {_describe(value)}")
        return None
    raise TypeError(f"config key '{key}': unsupported field type {_type_name(tp)} in the config schema")


def from_dict(cls: type[T], data: dict, prefix: str = "") -> T:
    """Build dataclass ``cls`` from plain data, checking keys and types.

    Missing keys keep the dataclass defaults; unknown keys and wrong types raise `HoFitError` naming
    the dotted key (e.g. ``fit.stages.1.weights.contact``).
    """
    if not isinstance(data, dict):
        where = f"'{prefix}'" if prefix else "at the top level"
        raise HoFitError(f"config {where}: expected a mapping, got {_describe(data)}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else str(unknown[0])
        raise HoFitError(
            f"config key '{key}' is not a setting of {cls.__name__}; valid keys here: {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        kwargs[name] = _convert(hints[name], value, key)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        if isinstance(error, HoFitError):
            raise
        raise HoFitError(f"config '{prefix or cls.__name__}': {error}") from error


def merge(base: Any, update: Any) -> Any:
    """Deep-merge plain data: mappings merge key by key, anything else in ``update`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(update, dict):
        out = dict(base)
        for key, value in update.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(update)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"fit.stages.0.iterations=100"`` -> (["fit", "stages", "0", "iterations"], 100).

    The value is parsed as YAML, so ``true``, ``1e-3``, ``[1, 2]`` and ``null`` work; quote strings that
    look like numbers.
    """
    if "=" not in text:
        raise HoFitError(f"override '{text}': expected KEY=VALUE, e.g. fit.stages.0.iterations=100")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise HoFitError(f"override '{text}': the key must be a dotted path such as fit.device")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as error:
        raise HoFitError(f"override '{text}': the value is not valid YAML ({error})") from error
    return key.split("."), value


def apply_overrides(data: dict, overrides: typing.Iterable[str]) -> dict:
    """Apply dotted ``KEY=VALUE`` overrides to plain config data.

    Unknown sections along the path raise `HoFitError`; the last key may be new (mappings such as loss
    weights accept new entries), and `from_dict` then rejects it if the schema has no such setting.
    """
    data = copy.deepcopy(data)
    for text in overrides:
        path, value = parse_override(text)
        node: Any = data
        for depth, part in enumerate(path):
            here = ".".join(path[: depth + 1])
            last = depth == len(path) - 1
            if isinstance(node, dict):
                if last:
                    # A new key is allowed here (e.g. a loss weight a stage did not list); the typed
                    # conversion afterwards rejects it when the schema has no such setting.
                    node[part] = value
                elif part not in node:
                    raise HoFitError(
                        f"override '{text}': unknown config key '{here}'; valid keys here: {', '.join(sorted(node))}"
                    )
                else:
                    node = node[part]
            elif isinstance(node, list):
                if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
                    raise HoFitError(f"override '{text}': '{here}' needs an index in 0..{len(node) - 1}")
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            else:
                raise HoFitError(f"override '{text}': '{'.'.join(path[:depth])}' is a value, not a section")
    return data


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping with ``yaml.safe_load``; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise HoFitError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise HoFitError(f"config file {path} is not valid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise HoFitError(f"config file {path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def write_yaml(data: Any, path: str | Path) -> None:
    """Write plain data (or a dataclass tree) as YAML, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(to_dict(data), sort_keys=False))
    tmp.replace(path)
