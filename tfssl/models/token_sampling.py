"""Choosing the next token from logits: greedy, temperature, top-k and top-p (nucleus), seeded.

All arguments may be tensors, so one graph (and one serving signature) covers every setting:
`temperature == 0` is greedy (argmax); `top_k == 0` and `top_p == 1` switch those filters off.
Randomness is stateless: the same `seed` (2 ints) and logits always give the same tokens.
"""

import tensorflow as tf

_NEVER = -1e9  # logit given to filtered tokens (finite: -inf rows could turn into NaNs)


def sampling_argument_errors(max_new_tokens, temperature, top_k, top_p, sequence_length):
    """Messages for invalid generation arguments (an empty list when all are valid)."""
    errors = []
    if not 1 <= max_new_tokens <= sequence_length - 1:
        errors.append(f"max_new_tokens must be in [1, {sequence_length - 1}] (the context is {sequence_length} tokens, "
                      f"one of them the start-of-text token); got {max_new_tokens}.")
    if not temperature >= 0:
        errors.append(f"temperature must be >= 0 (0 is greedy); got {temperature}.")
    if top_k < 0:
        errors.append(f"top_k must be >= 0 (0 keeps every token); got {top_k}.")
    if not 0 < top_p <= 1:
        errors.append(f"top_p must be in (0, 1] (1 keeps every token); got {top_p}.")
    return errors


def assert_sampling_arguments(max_new_tokens, temperature, top_k, top_p, sequence_length):
    """In-graph checks with the same rules as `sampling_argument_errors` (for serving signatures)."""
    return [
        tf.debugging.assert_greater_equal(max_new_tokens, 1, message="max_new_tokens must be >= 1"),
        tf.debugging.assert_less_equal(max_new_tokens, sequence_length - 1,
                                       message=f"max_new_tokens must be <= {sequence_length - 1} (the context is {sequence_length} tokens)"),
        tf.debugging.assert_greater_equal(temperature, 0.0, message="temperature must be >= 0 (0 is greedy)"),
        tf.debugging.assert_greater_equal(top_k, 0, message="top_k must be >= 0 (0 keeps every token)"),
        tf.debugging.assert_greater(top_p, 0.0, message="top_p must be in (0, 1]"),
        tf.debugging.assert_less_equal(top_p, 1.0, message="top_p must be in (0, 1]"),
    ]


def sample_next_token(logits, temperature, top_k, top_p, seed):
    """(batch, vocabulary) logits -> (batch,) int32 token ids. Greedy skips the sampling work."""
    logits = tf.cast(logits, tf.float32)
    return tf.cond(tf.cast(temperature, tf.float32) > 0,
                   lambda: _sample(logits, temperature, top_k, top_p, seed),
                   lambda: tf.argmax(logits, axis=-1, output_type=tf.int32))


def _sample(logits, temperature, top_k, top_p, seed):
    vocabulary = tf.shape(logits)[-1]
    scaled = logits / tf.maximum(tf.cast(temperature, tf.float32), 1e-6)
    # top-k: drop tokens below the k-th largest logit.
    k = tf.where(top_k > 0, tf.minimum(top_k, vocabulary), vocabulary)
    kth = tf.math.top_k(scaled, k=k).values[:, -1:]  # (batch, 1)
    scaled = tf.where(scaled < kth, _NEVER, scaled)
    # top-p: keep the smallest set of most likely tokens whose probability reaches top_p.
    ranked = tf.sort(scaled, axis=-1, direction="DESCENDING")  # (batch, vocabulary)
    mass_before = tf.math.cumsum(tf.nn.softmax(ranked, axis=-1), axis=-1, exclusive=True)
    kept = mass_before < tf.cast(top_p, tf.float32)  # the top token is always kept (mass before it is 0)
    threshold = tf.reduce_min(tf.where(kept, ranked, tf.float32.max), axis=-1, keepdims=True)  # (batch, 1)
    scaled = tf.where(scaled < threshold, _NEVER, scaled)
    return tf.cast(tf.random.stateless_categorical(scaled, 1, seed)[:, 0], tf.int32)


def softmax_sample(logits, uniforms, block=128):
    """One draw per row from `softmax(logits)`, by a two-level inverse CDF: (rows, vocabulary) float logits and
    (rows, 2) uniforms in [0, 1) -> (rows,) int32 ids.

    Why not `tf.random.stateless_categorical`: it draws a random number (and takes two logs) per logit; here a
    row costs one `exp` per logit and two random numbers. ELECTRA samples a replacement for every masked slot
    in every step, and at an 8,192-token vocabulary that cut its train step by about a third on CPU. The draw is
    exact: pick a block of `block` ids by the blocks' total mass, then an id inside it by its mass.
    """
    logits = tf.cast(logits, tf.float32)
    rows, vocabulary = tf.shape(logits)[0], tf.shape(logits)[1]
    padded = (vocabulary + block - 1) // block * block
    mass = tf.exp(logits - tf.reduce_max(logits, axis=-1, keepdims=True))  # (rows, vocabulary), max 1
    mass = tf.reshape(tf.pad(mass, [[0, 0], [0, padded - vocabulary]]), [rows, -1, block])  # (rows, blocks, block)
    uniforms = tf.cast(uniforms, tf.float32)

    def pick(weights, u):
        """Index i of each row with cumsum[i - 1] <= u * total < cumsum[i]: (rows, n), (rows,) -> (rows,)."""
        cumulative = tf.cumsum(weights, axis=-1)
        below = tf.cast(cumulative <= (u * cumulative[:, -1])[:, None], tf.int32)
        return tf.minimum(tf.reduce_sum(below, axis=-1), tf.shape(weights)[-1] - 1)

    chosen_block = pick(tf.reduce_sum(mass, axis=-1), uniforms[:, 0])  # (rows,)
    inside = tf.gather(mass, chosen_block, batch_dims=1)  # (rows, block)
    return chosen_block * block + pick(inside, uniforms[:, 1])
