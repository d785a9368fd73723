"""Typed configuration: dataclass trees, YAML presets in ``configs/``, and ``--set key=value`` overrides."""

from hoFit.config.core import apply_overrides, from_dict, merge, parse_override, read_yaml, to_dict, write_yaml

__all__ = ["apply_overrides", "from_dict", "merge", "parse_override", "read_yaml", "to_dict", "write_yaml"]
