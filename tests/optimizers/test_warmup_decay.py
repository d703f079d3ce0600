import numpy as np
import pytest

from tfssl.optimizers.warmup_decay import WarmupDecay


def test_warmup_then_linear_and_cosine_decay():
    lin = WarmupDecay(1.0, warmup_steps=10, total_steps=110)
    values = [float(lin(s)) for s in (0, 5, 10, 60, 110, 200)]
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0, 0.5, 0.0, 0.0], atol=1e-6)
    cos = WarmupDecay(1.0, 10, 110, end_learning_rate=0.1, decay="cosine")
    np.testing.assert_allclose(float(cos(60)), 0.55, atol=1e-6)
    assert WarmupDecay(**cos.get_config()).get_config() == cos.get_config()


def test_bad_schedule_arguments():
    with pytest.raises(ValueError, match="decay"):
        WarmupDecay(1.0, 1, 10, decay="step")
    with pytest.raises(ValueError, match="total_steps"):
        WarmupDecay(1.0, 1, 0)
