"""`lesps demo`: the whole LESPS flow on synthetic data, with its report."""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    .config: DEMO_BAR DEMO_PRESETS DemoBar DemoConfig DemoSettings DemoSummary
    .run:    STEPS DemoStep run_demo
    .report: write_report
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
