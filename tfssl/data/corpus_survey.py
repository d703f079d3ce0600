"""The first streaming pass of `tfssl prepare`: which documents are held out, and the vocabulary's sample.

Both are pure functions of the documents' ids and the seed, so the second pass (sharding, `shard_tasks`) and a
resumed prepare see the same split, and neither holds more than the sample in memory.
"""

import heapq

from tfssl.data.corpus import held_out_bucket


def survey_corpus(documents, held_out_fraction, seed, sample_characters):
    """The first streaming pass: the held-out rule of `split_documents` (a document is held out when its bucket
    is below the fraction; with two or more documents, the lowest-bucket one is held out if none is, and the
    highest-bucket one trains if all are held out) and, when `sample_characters > 0`, the vocabulary's sample of
    training documents (`vocabulary_sample`)."""
    lowest, highest, count, any_held_out, any_training = None, None, 0, False, False

    def training_documents():
        nonlocal lowest, highest, count, any_held_out, any_training
        for doc in documents:
            bucket = held_out_bucket(doc.id, seed)
            count += 1
            if lowest is None or bucket < lowest[0]:
                lowest = (bucket, doc.id)
            if bucket < held_out_fraction:
                any_held_out = True
                if not any_training and (highest is None or bucket > highest[0]):
                    highest = (bucket, doc)  # the fallback training document: one held in memory at most
            else:
                any_training, highest = True, None
                yield doc

    sample = vocabulary_sample(training_documents(), sample_characters, seed) if sample_characters else None
    if sample is None:
        for _ in training_documents():
            pass
    forced = lowest[1] if held_out_fraction > 0 and not any_held_out and count > 1 else None
    kept = highest[1].id if not any_training and count > 1 else None
    if sample is not None:  # texts of training documents only
        sample = [doc.text for doc in sample if doc.id != forced]
        if kept is not None and len(highest[1].text) <= sample_characters:
            sample = [highest[1].text]

    def is_held_out(doc):
        if doc.id == kept:
            return False
        return doc.id == forced or held_out_bucket(doc.id, seed) < held_out_fraction

    return {"sample": sample, "is_held_out": is_held_out, "documents": count}


def vocabulary_sample(documents, max_characters, seed=0):
    """A reproducible sample of whole documents (`Document`s), at most `max_characters` in all, in corpus order.

    Each document's priority is a hash of (seed, id); the sample is the lowest-priority documents that fit,
    kept in a heap while streaming, so its memory is bounded by `max_characters` whatever the corpus size,
    and the choice does not depend on the order documents arrive in."""
    heap, total = [], 0  # (-priority, position, document): the highest priority on top, evicted first
    for position, doc in enumerate(documents):
        priority = held_out_bucket(doc.id, f"vocabulary-{seed}")
        if len(doc.text) > max_characters:
            continue
        heapq.heappush(heap, (-priority, position, doc))
        total += len(doc.text)
        while total > max_characters:
            total -= len(heapq.heappop(heap)[2].text)
    return [doc for _, _, doc in sorted(heap, key=lambda item: item[1])]
