"""Metrics and reports: masked-LM and causal-LM perplexity, STS correlations, classification
reports, learning-curve plots. Names are imported on first use."""

from tfssl.lazy_exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "MaskedLMPerplexity": "tfssl.metrics.masked_lm_perplexity",
    "TokenAccuracy": "tfssl.metrics.token_accuracy",
    "sliding_window_perplexity": "tfssl.metrics.causal_lm_perplexity",
    "unigram_perplexity": "tfssl.metrics.causal_lm_perplexity",
    "pearson": "tfssl.metrics.sts_correlation",
    "spearman": "tfssl.metrics.sts_correlation",
    "cosine_similarity": "tfssl.metrics.sts_correlation",
    "sts_correlations": "tfssl.metrics.sts_correlation",
    "alignment": "tfssl.metrics.sts_correlation",
    "uniformity": "tfssl.metrics.sts_correlation",
    "evaluate_sts": "tfssl.metrics.sts_evaluation",
    "confusion_matrix": "tfssl.metrics.classification_report",
    "classification_report": "tfssl.metrics.classification_report",
    "regression_report": "tfssl.metrics.classification_report",
    "plot_confusion_matrix": "tfssl.metrics.classification_report",
    "format_report": "tfssl.metrics.classification_report",
    "summarize_runs": "tfssl.metrics.learning_curve_plot",
    "plot_learning_curves": "tfssl.metrics.learning_curve_plot",
    "format_learning_curve_table": "tfssl.metrics.learning_curve_plot",
})
