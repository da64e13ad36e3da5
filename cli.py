"""The `lesps` command line lives in `lesps_deploy/cli.py` (the app, its commands and `main`).

This file is where a reader of the repository's top level starts: the commands themselves are in
`lesps_deploy/commands/` (each one's rendering) and their options in the config dataclasses
(`lesps_deploy.options` explains the declarations). Run it as `python cli.py ...` from a checkout.
"""

from lesps_deploy.cli import app, main

__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
