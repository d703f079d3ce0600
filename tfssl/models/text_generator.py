"""Strings in, strings out: a causal LM with its tokenizer, generating and scoring in one graph.

`TextGenerator` is a `tf.Module` whose `tf.function`s are both the in-process API and the
exported serving signatures (`tfssl.export.generation_export`), so served and in-process
generation run the same graph.

Prompts: every prompt is preceded by the end-of-text token, as every training document is.
An empty prompt is therefore valid and samples a text from the start. A prompt longer than
the context keeps its *last* `sequence_length - max_new_tokens` tokens (the start-of-text token
included), so the prompt and the completion always fit the context.

Generation stops at `max_new_tokens` or when the model writes end-of-text (not returned). With
the key/value cache (default) the prompt runs once and each new token costs one position; the
uncached path re-runs the whole prefix every step (kept to measure and to test against).

Example:

>>> generator = TextGenerator(pretrainer, tokenizer)
>>> generator.generate(tf.constant(["ROMEO:"]), 100, 0.8, 40, 0.95, 7)["completions"]
>>> generator.score(tf.constant(["To be, or not to be"]))["perplexity"]
"""

import tensorflow as tf

from tfssl.models.token_sampling import assert_sampling_arguments, sample_next_token

GENERATE_SIGNATURE = [
    tf.TensorSpec([None], tf.string, name="prompt"),
    tf.TensorSpec([], tf.int32, name="max_new_tokens"),
    tf.TensorSpec([], tf.float32, name="temperature"),
    tf.TensorSpec([], tf.int32, name="top_k"),
    tf.TensorSpec([], tf.float32, name="top_p"),
    tf.TensorSpec([], tf.int32, name="seed"),
]


class TextGenerator(tf.Module):
    """Args:
    pretrainer: a `CausalLMPretrainer` (its backbone's `max_sequence_length` is the context).
    tokenizer: the run's decoder tokenizer (`SentencePieceTokenizer` or `CharacterTokenizer`).
    jit_compile_step: XLA-compile the decode step (its shapes are fixed: one token against a cache
        of fixed length). Measured 1.4-1.5x faster generation on CPU, same tokens; off by default
        because an exported graph must run without XLA (TF Serving), so use it in-process only.
    """

    def __init__(self, pretrainer, tokenizer, jit_compile_step=False):
        super().__init__(name="text_generator")
        self.pretrainer = pretrainer
        self.tokenizer = tokenizer
        self.sequence_length = int(pretrainer.backbone.max_sequence_length)
        self.end_of_text_id = int(tokenizer.end_of_text_id)
        # Saved with an export, so a loaded model can say its context before it is called.
        self.context_length = tf.Variable(self.sequence_length, trainable=False, dtype=tf.int32, name="context_length")
        self._decode_step = tf.function(self._step, jit_compile=True) if jit_compile_step else self._step

    @property
    def backbone(self):
        return self.pretrainer.backbone

    def _step(self, token_ids, cache, index):
        hidden, cache = self.backbone.call_with_cache(token_ids, cache, index)  # (batch, length, hidden_dim)
        return self.backbone.token_logits(hidden[:, -1]), cache  # (batch, vocabulary)

    def encode_prompts(self, prompt, max_new_tokens):
        """(batch,) strings -> right-padded ids (batch, longest) and lengths (batch,), each prompt
        preceded by end-of-text and cut to its last `sequence_length - max_new_tokens` tokens."""
        ids = self.tokenizer(prompt)  # (batch, None) ragged
        eot = tf.fill([ids.nrows(), 1], tf.constant(self.end_of_text_id, tf.int32))
        ids = tf.concat([tf.RaggedTensor.from_tensor(eot), tf.cast(ids, tf.int32)], axis=1)
        keep = self.sequence_length - max_new_tokens
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        start = tf.maximum(lengths - keep, 0)  # left truncation
        ids = tf.RaggedTensor.from_row_lengths(
            tf.gather(ids.flat_values, tf.ragged.range(tf.cast(ids.row_starts(), tf.int32) + start,
                                                       tf.cast(ids.row_limits(), tf.int32)).flat_values),
            lengths - start,
        )
        return ids.to_tensor(0), tf.cast(ids.row_lengths(), tf.int32)

    def generate_ids(self, prompt_ids, prompt_lengths, max_new_tokens, temperature, top_k, top_p, seed, use_cache=True):
        """Fills (batch, longest prompt + max_new_tokens) with prompts and new tokens; returns it."""
        batch = tf.shape(prompt_ids)[0]
        total = tf.shape(prompt_ids)[1] + max_new_tokens
        tokens = tf.pad(prompt_ids, [[0, 0], [0, max_new_tokens]])  # (batch, total)
        columns = tf.range(total)[None, :]  # (1, total)
        first = tf.reduce_min(prompt_lengths)  # every row's prompt is known up to here
        limit = prompt_lengths + max_new_tokens  # (batch,) each row's end

        def write(tokens, i, logits, done):
            new = sample_next_token(logits, temperature, top_k, top_p, tf.stack([seed, i]))
            token = tf.where(i < prompt_lengths, tokens[:, i], new)  # rows still inside their prompt copy it
            tokens = tf.where(columns == i, token[:, None], tokens)
            done = done | ((i >= prompt_lengths) & tf.equal(token, self.end_of_text_id)) | (i + 1 >= limit)
            return tokens, token, done

        done = tf.zeros([batch], tf.bool)
        if use_cache:
            cache = self.backbone.empty_cache(batch, total, dtype=self.backbone.compute_dtype)
            logits, cache = self._decode_step(tokens[:, :first], cache, 0)  # the shared prompt prefix, once

            def body(i, tokens, cache, logits, done):
                tokens, token, done = write(tokens, i, logits, done)
                logits, cache = self._decode_step(token[:, None], cache, i)
                return i + 1, tokens, cache, logits, done

            loop_vars = (first, tokens, cache, logits, done)
        else:
            def body(i, tokens, logits, done):
                tokens, _, done = write(tokens, i, logits, done)
                logits = self.pretrainer({"token_ids": tokens[:, : i + 1]}, training=False)[:, -1]  # the whole prefix again
                return i + 1, tokens, logits, done

            logits = self.pretrainer({"token_ids": tokens[:, :first]}, training=False)[:, -1]
            loop_vars = (first, tokens, logits, done)
        out = tf.while_loop(lambda i, *rest: (i < total) & ~tf.reduce_all(rest[-1]), body, loop_vars,
                            maximum_iterations=self.sequence_length)
        return out[1]

    def _completions(self, tokens, prompt_lengths, max_new_tokens):
        columns = tf.range(tf.shape(tokens)[1])[None, :]
        new = (columns >= prompt_lengths[:, None]) & (columns < (prompt_lengths + max_new_tokens)[:, None])
        end = tf.reduce_min(tf.where(new & tf.equal(tokens, self.end_of_text_id), columns, tf.int32.max), axis=1)
        keep = new & (columns < end[:, None])
        completion_ids = tf.ragged.boolean_mask(tokens, keep)  # (batch, None)
        return {
            "completions": self.tokenizer.detokenize(completion_ids),
            "token_ids": completion_ids.to_tensor(-1),
            "num_tokens": tf.cast(completion_ids.row_lengths(), tf.int32),
            "stopped_at_end_of_text": end < tf.int32.max,
            "prompt_tokens": prompt_lengths,
        }

    def _generate(self, prompt, max_new_tokens, temperature, top_k, top_p, seed, use_cache):
        checks = assert_sampling_arguments(max_new_tokens, temperature, top_k, top_p, self.sequence_length)
        with tf.control_dependencies(checks):
            prompt_ids, lengths = self.encode_prompts(prompt, max_new_tokens)
        tokens = self.generate_ids(prompt_ids, lengths, max_new_tokens, temperature, top_k, top_p, seed, use_cache)
        return self._completions(tokens, lengths, max_new_tokens)

    @tf.function(input_signature=GENERATE_SIGNATURE)
    def generate(self, prompt, max_new_tokens, temperature, top_k, top_p, seed):
        """Completions of `prompt` (see the module docstring); `temperature=0` is greedy."""
        return self._generate(prompt, max_new_tokens, temperature, top_k, top_p, seed, use_cache=True)

    @tf.function(input_signature=GENERATE_SIGNATURE)
    def generate_uncached(self, prompt, max_new_tokens, temperature, top_k, top_p, seed):
        """`generate` re-running the prefix every step (for tests and benchmarks)."""
        return self._generate(prompt, max_new_tokens, temperature, top_k, top_p, seed, use_cache=False)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def score(self, text):
        """Log-likelihood (nats) of each text's tokens after the start-of-text token, their count
        and perplexity. Texts longer than the context are scored on their first `sequence_length`
        tokens (`num_tokens` says how many); an empty text has 0 tokens and perplexity NaN."""
        ids = self.tokenizer(text)
        eot = tf.fill([ids.nrows(), 1], tf.constant(self.end_of_text_id, tf.int32))
        ids = tf.concat([tf.RaggedTensor.from_tensor(eot), tf.cast(ids, tf.int32)], axis=1)[:, : self.sequence_length + 1]
        width = tf.maximum(tf.cast(ids.bounding_shape(axis=1), tf.int32), 2)  # an empty batch: (0, 2)
        dense = ids.to_tensor(0, shape=tf.stack([tf.cast(ids.nrows(), tf.int32), width]))  # (batch, longest)
        weights = tf.sequence_mask(ids.row_lengths() - 1, tf.shape(dense)[1] - 1, tf.float32)  # (batch, longest - 1)
        logits = tf.cast(self.pretrainer({"token_ids": dense[:, :-1]}, training=False), tf.float32)  # (batch, longest - 1, vocabulary)
        log_probs = -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=dense[:, 1:], logits=logits)  # (batch, longest - 1)
        log_likelihood = tf.reduce_sum(log_probs * weights, axis=1)
        count = tf.reduce_sum(weights, axis=1)
        perplexity = tf.where(count > 0, tf.exp(-log_likelihood / tf.maximum(count, 1.0)), float("nan"))
        return {"log_likelihood": log_likelihood, "num_tokens": tf.cast(count, tf.int32), "perplexity": perplexity}
