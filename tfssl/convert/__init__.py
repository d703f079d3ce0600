"""Hugging Face checkpoints in and out (config.json + safetensors; no PyTorch at run time)."""

from tfssl.convert.checkpoint_files import CheckpointError, is_hf_directory, read_hf_directory
from tfssl.convert.hf_export import export_to_hf
from tfssl.convert.hf_import import convert_to_run_directory, load_hf_model

__all__ = ["CheckpointError", "convert_to_run_directory", "export_to_hf", "is_hf_directory", "load_hf_model",
           "read_hf_directory"]
