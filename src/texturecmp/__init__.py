"""texturecmp: measure skin texture and scar visibility change between photos."""

from texturecmp._version import __version__

__all__ = ["__version__"]
