"""Hugging Face checkpoints in and out (config.json + safetensors; no PyTorch at run time).
Names are imported on first use."""

from tfssl.lazy_exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "CheckpointError": "tfssl.convert.checkpoint_files",
    "is_hf_directory": "tfssl.convert.checkpoint_files",
    "read_hf_directory": "tfssl.convert.checkpoint_files",
    "export_to_hf": "tfssl.convert.hf_export",
    "convert_to_run_directory": "tfssl.convert.hf_import",
    "load_hf_model": "tfssl.convert.hf_import",
    "load_hf_electra": "tfssl.convert.hf_electra",
})
