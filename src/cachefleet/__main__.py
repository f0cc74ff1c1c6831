"""`python -m cachefleet` runs the command-line interface."""

from cachefleet.cli.main import main

main()
