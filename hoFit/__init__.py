"""hoFit: joint 3D reconstruction of hands and held objects from RGB video."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hofit")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.1.0"

__all__ = ["__version__"]
