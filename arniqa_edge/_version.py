"""The version of arniqa-edge: the one place it is written.

pyproject.toml reads it at build time (scikit-build-core's regex metadata provider), so
`arniqa_edge.__version__` is the version of the built distribution
(`importlib.metadata.version("arniqa-edge")`; an editable install takes a new one
when it is reinstalled).
"""

__version__ = "0.1.0"
