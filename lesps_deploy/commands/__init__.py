"""The `lesps` commands, one module each: a config dataclass made a command, and its rendering.

A command module is `name = command("name", NameConfig, _render)` (`lesps_deploy.options.typer_command`):
the flags come from the config's declared fields, and `_render(cfg)` makes one library call and prints
its results. `cli.py` registers them on the Typer app. No logic lives here.
"""
