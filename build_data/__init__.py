"""Build the market-data snapshot that the site's pages read.

Stages, one direction only: sources (fetch) -> cache -> validate -> metrics/signals (compute)
-> charts -> render (the only writer). `python -m build_data` is the CLI.
"""
