"""Models: ACM, ALCNet and DNANet with the released LESPS parameter layout, a registry, checkpoint I/O.

Every model takes a normalized single-channel batch `(N,1,H,W)` and returns sigmoid probabilities
`(N,1,H,W)` at the input resolution.

Example:
    >>> from lesps_deploy.models import create_model, load_checkpoint
    >>> ckpt = load_checkpoint("ACM_LESPS_centroid.pth.tar")
    >>> net = create_model("DNANet", deep_supervision=True)
"""

# Eager on purpose: importing the model files registers them, and everything here needs torch anyway.
from lesps_deploy.io import sha256_file

from ._registry import (
    canonical_name,
    create_model,
    detect_model,
    list_models,
    model_name_of,
    pad_multiple_of,
    register_model,
    training_options,
)
from .acm import ACM
from .alcnet import ALCNet
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .dnanet import DNANet
from .layers import IRSTDModel
from .releases import RELEASES, Release, find_release, list_releases

__all__ = [
    "create_model",
    "list_models",
    "register_model",
    "pad_multiple_of",
    "training_options",
    "detect_model",
    "canonical_name",
    "model_name_of",
    "load_checkpoint",
    "save_checkpoint",
    "Checkpoint",
    "sha256_file",
    "RELEASES",
    "Release",
    "find_release",
    "list_releases",
    "IRSTDModel",
    "ACM",
    "ALCNet",
    "DNANet",
]
