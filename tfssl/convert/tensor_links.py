"""One `TensorLink` per tfssl weight: which Hugging Face tensor(s) it is and how the layouts
differ. The same list converts in both directions, so import and export cannot drift apart.

Layouts:
    copy          same array
    linear        a PyTorch `nn.Linear` weight (out, in) <-> a Keras kernel (in, out)
    fused_linear  query, key and value Linear weights <-> one (in, 3 * hidden) kernel [q | k | v]
    fused         query, key and value biases <-> one (3 * hidden,) bias
    skip_rows:N   a table whose first N rows tfssl does not use (RoBERTa's positions start at
                  padding_idx + 1); exported with those rows zero
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class TensorLink:
    hf_names: tuple  # one name, or (query, key, value) for the fused layouts
    path: str  # attribute chain from the tfssl model, e.g. "backbone.blocks.0.attention.qkv_dense"
    index: int = 0  # position in that layer's `weights`; None: the path is the variable itself
    layout: str = "copy"
    group: str = "backbone"  # "backbone" (required), or an optional all-or-none group ("pooler", "head")


def to_tfssl(link, arrays):
    """The tfssl value of `link` from its Hugging Face arrays."""
    if link.layout == "copy":
        return arrays[0]
    if link.layout == "linear":
        return arrays[0].T
    if link.layout == "fused_linear":
        return np.concatenate([a.T for a in arrays], axis=1)
    if link.layout == "fused":
        return np.concatenate(arrays, axis=-1)
    if link.layout.startswith("skip_rows:"):
        return arrays[0][int(link.layout.split(":")[1]):]
    raise ValueError(f"Unknown layout {link.layout!r}.")


def to_hf(link, value):
    """The Hugging Face arrays of `link` from its tfssl value (inverse of `to_tfssl`)."""
    if link.layout == "copy":
        return [value]
    if link.layout == "linear":
        return [value.T]
    if link.layout == "fused_linear":
        return [np.ascontiguousarray(part.T) for part in np.split(value, 3, axis=1)]
    if link.layout == "fused":
        return list(np.split(value, 3, axis=-1))
    if link.layout.startswith("skip_rows:"):
        rows = int(link.layout.split(":")[1])
        return [np.concatenate([np.zeros((rows,) + value.shape[1:], value.dtype), value])]
    raise ValueError(f"Unknown layout {link.layout!r}.")


def variable_at(model, link):
    """The tfssl variable a link names."""
    obj = model
    for part in link.path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj if link.index is None else obj.weights[link.index]


def plan_assignment(model, links, weights, ignored=()):
    """Matches checkpoint tensors to links without touching the model.

    Returns `(values, problems)`: `values` maps each link to be assigned to its tfssl array;
    `problems` lists missing, unexpected and mis-shaped tensors (empty when all is well). Optional
    groups are taken when all their tensors are present and left fresh when none are."""
    missing, wrong, values = [], [], {}
    groups = {}
    for link in links:
        groups.setdefault(link.group, []).append(link)
    for group, members in groups.items():
        present = [link for link in members if all(n in weights for n in link.hf_names)]
        if group != "backbone" and not present:
            continue  # an optional part the checkpoint does not have: it stays freshly initialised
        for link in members:
            absent = [n for n in link.hf_names if n not in weights]
            if absent:
                missing.extend(absent)
                continue
            value = to_tfssl(link, [np.asarray(weights[n]) for n in link.hf_names])
            target = tuple(variable_at(model, link).shape)
            if tuple(value.shape) != target:
                wrong.append(f"{'+'.join(link.hf_names)} {tuple(value.shape)} vs {link.path} {target}")
            else:
                values[link] = value
    known = {n for link in links for n in link.hf_names} | set(ignored)
    unexpected = sorted(n for n in weights if n not in known)
    problems = []
    if missing:
        problems.append(f"missing {sorted(missing)[:10]}{' ...' if len(missing) > 10 else ''}")
    if unexpected:
        problems.append(f"unexpected {unexpected[:10]}{' ...' if len(unexpected) > 10 else ''}")
    if wrong:
        problems.append(f"mis-shaped {wrong[:10]}{' ...' if len(wrong) > 10 else ''}")
    return values, problems


def assign(model, values):
    """Assigns a plan from `plan_assignment` (dtype cast to each variable's)."""
    for link, value in values.items():
        variable = variable_at(model, link)
        variable.assign(value.astype(variable.dtype))


def collect(model, links, groups=("backbone",)):
    """`{hf name: array}` of every link in `groups`, for writing a checkpoint."""
    weights = {}
    for link in links:
        if link.group in groups:
            value = np.asarray(variable_at(model, link).numpy(), dtype=np.float32)
            for name, array in zip(link.hf_names, to_hf(link, value)):
                weights[name] = np.ascontiguousarray(array)
    return weights
