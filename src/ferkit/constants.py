"""Package-wide constants."""

# Side of the square face crop every FER dataset uses (FER2013, FER+, CK+48). The only place this number is written.
FACE_SIZE = 48

# Test-time augmentations every backend knows (ferkit.backends.tta_views); here so the CLI offers them without
# importing torch.
TTA_MODES = ("none", "flip", "tencrop")
