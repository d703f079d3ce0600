"""SavedModel export with serving signatures (raw strings in), and loading exports back.
Names are imported on first use."""

from tfssl.lazy_exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "FillMaskModule": "tfssl.export.fill_mask_export",
    "export_fill_mask": "tfssl.export.fill_mask_export",
    "SentenceEmbeddingModule": "tfssl.export.embedding_export",
    "export_sentence_embedder": "tfssl.export.embedding_export",
    "TextClassificationModule": "tfssl.export.classifier_export",
    "export_text_classifier": "tfssl.export.classifier_export",
    "write_label_file": "tfssl.export.classifier_export",
    "export_text_generator": "tfssl.export.generation_export",
    "load": "tfssl.export.saved_model_loading",
    "load_saved_model": "tfssl.export.saved_model_loading",
    "saved_model_embedder": "tfssl.export.saved_model_loading",
    "fill_mask": "tfssl.export.saved_model_loading",
    "embed": "tfssl.export.saved_model_loading",
    "generate": "tfssl.export.saved_model_loading",
    "score": "tfssl.export.saved_model_loading",
    "ServedClassifier": "tfssl.export.saved_model_loading",
    "existing_versions": "tfssl.export.versioning",
    "latest_version_dir": "tfssl.export.versioning",
})
