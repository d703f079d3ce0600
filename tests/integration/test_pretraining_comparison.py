"""`tfssl experiment compare` end to end at toy size: every objective pretrained on one corpus with one
vocabulary, every encoder through the same suite, one scratch column, and the table, rows and plot written."""

import json

from tests.data_locations import excerpt
from tests.helpers import copy_sotu_speeches


def test_compare_pretrains_every_objective_and_writes_table_results_and_plot(tmp_path, cli):
    corpus = copy_sotu_speeches(tmp_path / "corpus", count=8)  # SimCSE needs a batch (64) of sentences
    out = cli("experiment", "compare", f"--corpus={corpus}", f"--output_dir={tmp_path / 'runs'}", "--name=cmp",
              "--vocabulary_size=600", "--sequence_length=32", "--epochs=1", "--steps_per_epoch=6",
              "--simcse_steps=4", f"--labeled_sets={excerpt('sst2', 'train.tsv')}::sentence", "--examples=24",
              "--seeds=0", "--full_data=false", "--finetune_epochs=1", "--min_steps=4", "--finetune_sequence_length=16",
              f"--sts_dev_file={excerpt('stsbenchmark', 'sts-dev.csv')}", "--jit_compile=false", "--verbose=0")
    assert out.returncode == 0, out.stderr[-3000:]
    run = tmp_path / "runs" / "cmp"
    rows = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert sorted(r["objective"] for r in rows) == ["electra", "mlm", "mlm+simcse", "scratch"]
    assert all(r["examples_used"] == 24 and 0 <= r["accuracy"] <= 1 for r in rows)
    # One vocabulary for all: the SimCSE run continues the masked-LM run, ELECTRA reads the same prepared corpus.
    vocabularies = {(run / o / "tokenizer" / "vocab.txt").read_text() for o in ("mlm", "electra", "mlm+simcse")}
    assert len(vocabularies) == 1
    table = (run / "table.md").read_text()
    for objective in ("mlm", "electra", "mlm+simcse", "scratch"):
        assert f"| {objective} |" in table or f"{objective} (mean" in table, table
    assert "STS dev Spearman" in table
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["sts"]) == {"mlm", "electra", "mlm+simcse"}
    assert all(-1 <= s["dev"]["spearman"] <= 1 for s in metrics["sts"].values())
    assert (run / "comparison.png").read_bytes()[:4] == b"\x89PNG"
