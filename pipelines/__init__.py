"""Runnable Beam pipelines and the ``yuliao`` command."""
