"""Where the data that travels with the package lies: presets and the bundled hand model."""

from __future__ import annotations

from pathlib import Path

__all__ = ["package_folder"]


def package_folder(name: str, repository_name: str | None = None) -> Path:
    """``hoFit/<name>``: a folder of an installed package, and in a checkout a link to the repository's
    ``<repository_name>/`` (default ``name``), which is returned where the checkout has no symbolic links."""
    package = Path(__file__).resolve().parents[1]
    inside = package / name
    return inside if inside.is_dir() else package.parent / (repository_name or name)
