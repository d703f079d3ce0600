"""Training: the drivers behind `tfssl pretrain|finetune|experiment`, the driver skeleton, strategies, resumable
fit and callbacks. Names are imported on first use (`tfssl.training.run_job` loads TensorFlow, the package does not).

>>> from tfssl.config import MLMPretrainConfig
>>> result = tfssl.training.run_job(MLMPretrainConfig(epochs=1))
"""

from tfssl.lazy_exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "run_job": "tfssl.training.driver",
    "Driver": "tfssl.training.driver",
    "run_mlm_pretraining": "tfssl.training.mlm_pretraining",
    "run_electra_pretraining": "tfssl.training.electra_pretraining",
    "run_contrastive_pretraining": "tfssl.training.contrastive_pretraining",
    "run_causal_lm_pretraining": "tfssl.training.causal_lm_pretraining",
    "run_finetuning": "tfssl.training.finetuning",
    "run_few_shot_experiment": "tfssl.training.few_shot_experiment",
    "run_pretraining_comparison": "tfssl.training.pretraining_comparison",
    "ResumableFit": "tfssl.training.resumable_fit",
    "BestCheckpoint": "tfssl.training.best_checkpoint",
    "TrainingCurves": "tfssl.training.callbacks",
    "TimeBudget": "tfssl.training.callbacks",
    "STSEvaluation": "tfssl.training.sts_callback",
    "choose_strategy": "tfssl.training.strategy",
    "launch": "tfssl.training.local_cluster",
})
