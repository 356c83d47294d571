"""Allow `python -m svp`."""

from svp.cli import main

main()
