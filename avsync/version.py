"""The package version, from its installed metadata (a leaf module: imports nothing of avsync)."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("avsync")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
