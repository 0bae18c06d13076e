"""Shim so Beam's ``--setup_file ./setup.py`` can stage this package to Dataflow/Spark/Flink workers;
all metadata lives in pyproject.toml."""
from setuptools import setup

setup()
