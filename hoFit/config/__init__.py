"""Typed configuration: dataclass trees, YAML presets in ``configs/``, and ``--set key=value`` overrides.

`Config` and `load_config` are imported lazily (they pull in every sub-package's settings).
"""

from hoFit.config.core import apply_overrides, from_dict, merge, parse_override, read_yaml, to_dict, write_yaml

__all__ = [
    "apply_overrides", "from_dict", "merge", "parse_override", "read_yaml", "to_dict", "write_yaml",
    "Config", "load_config", "list_presets",
]


def __getattr__(name):
    if name in ("Config", "load_config", "list_presets"):
        from hoFit.config import schema

        return getattr(schema, name)
    raise AttributeError(name)
