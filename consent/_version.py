"""The package's version: read by the build (pyproject.toml, [tool.hatch.version]) and by
``consent.__version__`` without importlib.metadata, which is slow to import."""

__version__ = "0.2.0"
