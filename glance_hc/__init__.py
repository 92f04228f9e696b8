"""glance-hc: health checks for Glance image uploads (the library and its pytest plugin).

`__version__` is the one place the version is written: pyproject.toml reads it.
"""

__version__ = "0.2.0"
