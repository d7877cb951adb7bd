"""The model zoo: a registry of networks, their data configs, and self-describing safetensors checkpoints.

Importing this package registers every family (seed reproductions, VGG, ResNet, mobile).
"""

from __future__ import annotations

from ferkit.models import efficient, fernet, resnet, seed, vgg  # noqa: F401  (registers the families)
from ferkit.models._registry import create_model, list_models, model_info, register_model
from ferkit.models.checkpoint import load_model, read_checkpoint_meta, save_checkpoint
from ferkit.models.data_config import FACE_SIZE, DataConfig, preprocess
from ferkit.models.fine_tune import load_state_into

__all__ = [
    "FACE_SIZE",
    "DataConfig",
    "create_model",
    "list_models",
    "load_model",
    "load_state_into",
    "model_info",
    "preprocess",
    "read_checkpoint_meta",
    "register_model",
    "save_checkpoint",
]
