"""The example notebooks run top to bottom (with small settings)."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.data_locations import excerpt
from tfssl.run_directory import RunDirectory

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


EXPECTED = {"mlm_pretraining.ipynb": ("masked_accuracy", "saved_models"),
            "contrastive_sentence_embeddings.ipynb": ("sts_spearman", "after :", "supervised:", "saved_models"),
            "causal_lm_generation.ipynb": ("lossless: True", "labels are the inputs shifted: True", "held-out perplexity",
                                           "greedy:", "served greedy == in-process: True"),
            "finetuning_and_serving.ipynb": ("macro avg", "majority-class accuracy", "served == in-process: True",
                                             "PredictRequest", "gain"),
            "huggingface_interop.ipynb": ("max |tfssl - sentence-transformers|", "served == in-process: True",
                                          "transformers == tfssl: True")}


@pytest.fixture(scope="module")
def short_mlm_run():
    """The short masked-LM run the first notebook that needs one makes (contrastive, in sorted order); the next
    one (fine-tuning) starts from it as from `tfssl pretrain mlm`'s run instead of making its own (~40 s)."""
    return {}


# The main job's notebook runs by default; the others (3.5 min together) with `-m slow`, to keep the suite
# within 12 minutes: each drives the same library paths as an integration test of its own.
DEFAULT = ("mlm_pretraining.ipynb",)


@pytest.mark.parametrize("name", [n if n in DEFAULT else pytest.param(n, marks=pytest.mark.slow)
                                  for n in sorted(EXPECTED)])
def test_notebook_executes(name, tmp_path, monkeypatch, short_mlm_run):
    monkeypatch.setenv("TFSSL_EXAMPLE_STEPS", "20")
    monkeypatch.setenv("TFSSL_EXAMPLE_DIR", str(tmp_path / "work"))
    # Without a run (the first notebook, or one run alone) the notebook makes its own short one.
    monkeypatch.setenv("TFSSL_MLM_RUN", short_mlm_run.get("path", str(tmp_path / "no-such-run")))
    monkeypatch.setenv("TFSSL_STS_DIR", excerpt("stsbenchmark"))  # 500/300/100 rows of STS-B train/dev/test
    nb = nbformat.read(os.path.join(EXAMPLES, name), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    made = tmp_path / "work" / "runs" / "mlm"
    if "path" not in short_mlm_run and RunDirectory(str(made)).has_model:
        short_mlm_run["path"] = str(made)
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    for expected in EXPECTED[name]:
        assert expected in outputs, expected
    assert os.path.isfile(tmp_path / "work" / "training_curves.png")
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the curves are shown inline"
