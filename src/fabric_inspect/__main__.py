"""`python -m fabric_inspect` runs the CLI."""

from fabric_inspect.cli import main

main()
