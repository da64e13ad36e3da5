"""The evaluation rules every command shares: the Pd match distance, the false-alarm rule, thresholds.

Light on purpose (no numpy): config dataclasses and the CLI read these without loading the metrics.
"""

from __future__ import annotations

from typing import Any, Literal

from lesps_deploy.errors import ConfigError
from lesps_deploy.options import option

__all__ = [
    "MATCH_DISTANCE", "FaRule", "FA_RULES", "DEFAULT_FA_RULE", "check_fa_rule", "check_threshold",
    "fa_rule_option", "strict_masks_option",
]  # fmt: skip

MATCH_DISTANCE = 3.0
FaRule = Literal["current", "2023"]
FA_RULES: tuple[str, ...] = ("current", "2023")
DEFAULT_FA_RULE: FaRule = "current"


def check_fa_rule(rule: str) -> FaRule:
    """`rule` if it names a false-alarm rule, else a ConfigError listing the valid ones."""
    if rule not in FA_RULES:
        raise ConfigError(
            f"--fa-rule {rule}: expected one of {', '.join(FA_RULES)}",
            hint="'current' is the authors' code today; '2023' compares with papers evaluated with the 2023 code",
        )
    return rule  # type: ignore[return-value]


def check_threshold(value: float | None, option: str = "--threshold") -> float | None:
    """`value` if it is a probability strictly inside (0, 1) (or None: the artifact's), else a ConfigError.

    Why refused: a map compared with 2 is all background and with -1 all target, which gives a table
    of zeros or an Fa near 1 rather than an error.
    """
    if value is not None and not 0.0 < value < 1.0:
        raise ConfigError(f"{option} {value:g}: a probability threshold must lie strictly between 0 and 1")
    return value


def fa_rule_option() -> Any:
    return option(
        DEFAULT_FA_RULE,
        "False-alarm rule: 'current' (the authors' code today) or '2023' (to compare with papers "
        "evaluated with the 2023 LESPS/BasicIRSTD code).",
        choices=FA_RULES,
    )


def strict_masks_option() -> Any:
    return option(
        False,
        "A mask whose size differs from its image's is an error (default: reported, then cropped / "
        "zero-padded to the image as the reference does, e.g. NUAA-SIRST Misc_111).",
    )
