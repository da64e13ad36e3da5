"""lesps-deploy: infrared small target detection from single-point labels to the edge."""

__version__ = "0.1.0"

__all__ = ["__version__"]
