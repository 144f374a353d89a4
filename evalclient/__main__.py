"""`python -m evalclient` runs the CLI."""

from evalclient.cli import main

main()
