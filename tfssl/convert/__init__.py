"""Hugging Face checkpoints (config.json + safetensors) in tfssl models. Hugging Face names live
only in this package."""
