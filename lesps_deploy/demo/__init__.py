"""`lesps demo`: the whole LESPS flow on synthetic data, with its report."""

from lesps_deploy._lazy import exported_names, lazy_exports

_LAZY = {
    ".config": (
        "DEMO_BAR",
        "DEMO_PRESETS",
        "DemoBar",
        "DemoConfig",
        "DemoSettings",
        "DemoSummary",
    ),
    ".run": (
        "STEPS",
        "DemoStep",
        "run_demo",
    ),
    ".report": ("write_report",),
}

__all__ = exported_names(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
