"""The five released LESPS checkpoints in ../shared/weights/lesps-official that the acceptance tests run."""

CHECKPOINTS = [
    "ACM_LESPS_centroid.pth.tar",
    "ACM_LESPS_coarse.pth.tar",
    "ACM_full.pth.tar",
    "ALCNet_LESPS_centroid.pth.tar",
    "ALCNet_full.pth.tar",
]
