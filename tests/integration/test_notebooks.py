"""The example notebooks run top to bottom (with small settings)."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


@pytest.mark.parametrize("name", ["mlm_pretraining.ipynb"])
def test_notebook_executes(name, tmp_path, monkeypatch):
    monkeypatch.setenv("TFSSL_EXAMPLE_STEPS", "60")
    monkeypatch.setenv("TFSSL_EXAMPLE_DIR", str(tmp_path / "work"))
    nb = nbformat.read(os.path.join(EXAMPLES, name), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "masked_accuracy" in outputs and "saved_models" in outputs
    assert os.path.isfile(tmp_path / "work" / "training_curves.png")
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the curves are shown inline"
