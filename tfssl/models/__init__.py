"""Backbones, pretrainers and their presets. Importing this package registers every tfssl Keras
class, so `keras.saving.load_model("run/model.keras")` works after `import tfssl.models`."""

from tfssl.metrics.masked_lm_perplexity import MaskedLMPerplexity  # noqa: F401
from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer  # noqa: F401
from tfssl.models.contrastive_pretrainer import ContrastivePretrainer  # noqa: F401
from tfssl.models.decoder_backbone import DecoderBackbone  # noqa: F401
from tfssl.models.encoder_backbone import EncoderBackbone  # noqa: F401
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer  # noqa: F401
from tfssl.models.presets import DECODER_PRESETS, ENCODER_PRESETS  # noqa: F401
from tfssl.models.sentence_embedder import SentenceEmbedder  # noqa: F401
from tfssl.models.text_classifier import TextClassifier  # noqa: F401
from tfssl.models.token_classifier import TokenClassifier  # noqa: F401
from tfssl.optimizers.global_clip_adamw import GlobalClipAdamW  # noqa: F401
from tfssl.optimizers.warmup_decay import WarmupDecay  # noqa: F401
