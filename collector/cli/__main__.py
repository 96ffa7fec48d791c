"""``python -m collector.cli``: the same as ``hdc-collector``."""
from collector.cli import main

main()
