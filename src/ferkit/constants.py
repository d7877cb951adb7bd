"""Package-wide constants."""

# Side of the square face crop every FER dataset uses (FER2013, FER+, CK+48). The only place this number is written.
FACE_SIZE = 48

# Test-time augmentations every backend knows (ferkit.backends.tta_views); here so the CLI offers them without
# importing torch.
TTA_MODES = ("none", "flip", "tencrop")

# Fixed choices of the training config, here so `load_config` checks them without importing torch.
SCHEDULES = ("onecycle", "cosine", "plateau", "step", "constant")
OPTIMIZERS = ("sgd", "adam", "adamw")
LABEL_MODES = ("majority", "probability", "crossentropy", "multi_target")  # FER+ votes → targets
