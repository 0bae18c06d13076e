"""Entry point for the Dataflow flex template: same arguments as ``yuliao build``."""
from __future__ import annotations

import sys

from pipelines.cli import main

if __name__ == "__main__":
    sys.exit(main(["build", *sys.argv[1:]]))
