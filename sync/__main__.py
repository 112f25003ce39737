"""`python -m sync` is `tsync`."""

from sync.cli import main

main()
