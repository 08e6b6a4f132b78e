"""``python -m gateway`` is ``hookgate``."""

from gateway.cli import main

main()
