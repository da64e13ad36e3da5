"""The `lesps` commands, one module each: options -> config -> one library call -> printed results.

`cli.py` registers them on the Typer app. No logic lives here.
"""
