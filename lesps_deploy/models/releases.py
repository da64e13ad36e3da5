"""The published LESPS checkpoints: one frozen row per file, keyed by its sha256.

The timm `pretrained_cfg` pattern: what the authors released (Ying et al., CVPR 2023, repository
XinyiYing/LESPS, folder `log/SIRST3/`) is a table, not knowledge spread over loaders. The released
files store only a `state_dict`, so the table supplies what a runtime needs: model, label type,
training set, normalization and threshold. `load_checkpoint` reads it, so every loader (evaluate,
export, predict, benchmark) gets the normalization from it without `--norm`.

A file is recognised by its sha256, never by its name: a renamed release is still recognised and a
file merely named like one is not. The URLs document where each file comes from; nothing here
downloads anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from lesps_deploy.data.norm import NORM_PRESETS
from lesps_deploy.metadata import ModelMeta

__all__ = ["Release", "RELEASES", "find_release", "list_releases"]

# The upstream commit that holds the files, so the links keep pointing at these exact bytes.
_SOURCE = "https://github.com/XinyiYing/LESPS/blob/b1fe4f56cea2782b8f67608d475d78927768d604/log/SIRST3"


@dataclass(frozen=True, slots=True)
class Release:
    """One released checkpoint file.

    Attributes:
        name: the file's released name without `.pth.tar`.
        sha256: hex digest of the file (the lookup key).
        model: registry name of the architecture.
        label_type: supervision it was trained with (centroid, coarse, full).
        dataset: training set (SIRST3: NUAA-SIRST + NUDT-SIRST + IRSTD-1K train splits).
        norm: normalization preset it expects (a key of `NORM_PRESETS`).
        threshold: probability threshold of the authors' test code.
        url: where the file is published (documentation only; never fetched).
    """

    name: str
    sha256: str
    model: str
    label_type: str
    dataset: str = "SIRST3"
    norm: str = "SIRST3"
    threshold: float = 0.5
    url: str = ""

    def meta(self) -> ModelMeta:
        """The metadata the file would carry had it been written by `save_checkpoint`."""
        norm = NORM_PRESETS[self.norm]
        return ModelMeta(
            model=self.model,
            mean=norm.mean,
            std=norm.std,
            threshold=self.threshold,
            label_type=self.label_type,
            dataset=self.dataset,
        )

    def describe(self) -> str:
        """One line naming the release and what it implies."""
        return (
            f"LESPS release {self.name} ({self.model}, {self.label_type} labels, trained on {self.dataset}; "
            f"norm {self.norm}, threshold {self.threshold:g})"
        )


def _release(name: str, sha256: str, label_type: str) -> Release:
    return Release(name, sha256, name.split("_")[0], label_type, url=f"{_SOURCE}/{name}.pth.tar")


RELEASES: tuple[Release, ...] = (
    _release("ACM_LESPS_centroid", "c82871e23bc56a3e6abbf049ccc241bffffff97f6a184f0947a91f6586163c11", "centroid"),
    _release("ACM_LESPS_coarse", "fb6f16b9dad0357c9bc719b17980fb2a6df7cfbd8aaccb8abfa015f0b2ce18f0", "coarse"),
    _release("ACM_full", "d37722c34635e904e083376c8f6e5563a4112e2daf60cfcee072e7402585e37c", "full"),
    _release("ALCNet_LESPS_centroid", "5be195c3e05d83a50be3d1b38e89b000e0ec5717712853268cd3fb3988870313", "centroid"),
    _release("ALCNet_LESPS_coarse", "2dfcbfacac6140abb8e03a2114c15513498b2a49d4699f5ad5645589f3a69565", "coarse"),
    _release("ALCNet_full", "e3be8cd4f11aa0abedace4cf376596ccef70d89070c76652c2e56856d463a0f9", "full"),
)  # fmt: skip

_BY_SHA256 = {release.sha256: release for release in RELEASES}


def find_release(sha256: str) -> Release | None:
    """The release whose file has this sha256 (hex, any case), else None."""
    return _BY_SHA256.get(sha256.lower())


def list_releases() -> list[str]:
    """Names of the known releases, in table order."""
    return [release.name for release in RELEASES]
