"""Reference: nanoGPT's CPU shakespeare_char recipe, re-implemented in PyTorch, measured the way
tfssl is measured. Prints JSON.

nanoGPT's README reports validation loss 1.88 for this recipe (4 layers, 4 heads, 128 wide,
block 64, batch 12, 2,000 iterations, no dropout, AdamW 1e-3 -> 1e-4 cosine, 100 warmup steps,
beta2 0.99, weight decay 0.1, clip 1.0, no biases), as an estimate over 20 random validation
batches. This script trains that model (written here from the recipe, not copied) and reports
both that estimate and the loss over the *whole* validation split in disjoint 64-character
windows, the figure `tfssl pretrain clm` reports as `held_out_blocks.loss`.

    pip install torch==2.13.0        # CPU wheel; never unpinned
    python benchmarks/nanogpt_reference.py --seeds 0 1 2
"""

import argparse
import json
import math
import os
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TEXT = os.path.join(HERE, "..", "..", "shared", "data", "tinyshakespeare", "input.txt")


def build_model(torch, vocabulary, layers=4, heads=4, width=128, block=64):
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width, bias=False), nn.LayerNorm(width, bias=False)
            self.qkv, self.proj = nn.Linear(width, 3 * width, bias=False), nn.Linear(width, width, bias=False)
            self.fc, self.out = nn.Linear(width, 4 * width, bias=False), nn.Linear(4 * width, width, bias=False)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(width, dim=2)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, c)
            x = x + self.proj(y)
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocabulary, width), nn.Embedding(block, width)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.ln = nn.LayerNorm(width, bias=False)
            for name, p in self.named_parameters():
                if p.dim() == 2:
                    std = 0.02 / math.sqrt(2 * layers) if name.endswith(("proj.weight", "out.weight")) else 0.02
                    nn.init.normal_(p, 0.0, std)

        def forward(self, idx, targets):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for blk in self.blocks:
                x = blk(x)
            logits = self.ln(x) @ self.wte.weight.T  # tied
            return F.cross_entropy(logits.view(-1, vocabulary), targets.reshape(-1))

    return GPT()


def run(seed, text, iterations=2000, batch=12, block=64, peak=1e-3):
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    ids = np.array([lookup[c] for c in text], dtype=np.int64)
    n = int(0.9 * len(ids))
    train, val = torch.from_numpy(ids[:n]), torch.from_numpy(ids[n:])
    model = build_model(torch, len(chars))
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                                  lr=peak, betas=(0.9, 0.99))

    def lr_at(it, low=peak / 10, warmup=100):
        if it < warmup:
            return peak * (it + 1) / (warmup + 1)
        return low + 0.5 * (1 + math.cos(math.pi * (it - warmup) / (iterations - warmup))) * (peak - low)

    def get_batch(data):
        ix = rng.integers(0, len(data) - block, batch)
        return torch.stack([data[i : i + block] for i in ix]), torch.stack([data[i + 1 : i + 1 + block] for i in ix])

    started = time.monotonic()
    model.train()
    for it in range(iterations):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(it)
        loss = model(*get_batch(train))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    train_seconds = time.monotonic() - started
    model.eval()
    with torch.no_grad():
        estimate = float(np.mean([model(*get_batch(val)).item() for _ in range(20)]))
        windows = (len(val) - 1) // block
        x = val[: windows * block].view(windows, block)
        y = val[1 : windows * block + 1].view(windows, block)
        total = sum(model(x[i : i + 256], y[i : i + 256]).item() * len(x[i : i + 256]) for i in range(0, windows, 256))
        whole = total / windows  # every window has 64 predictions: the mean over all of them
    return {"seed": seed, "learning_rate": peak, "val_loss_whole_split_disjoint_64": whole, "val_loss_estimate_20_random_batches": estimate,
            "train_seconds": train_seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", default=DEFAULT_TEXT)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="peak; decays to a tenth (nanoGPT: 1e-3)")
    args = parser.parse_args()
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    runs = [run(s, text, args.iterations, peak=args.learning_rate) for s in args.seeds]
    whole = [r["val_loss_whole_split_disjoint_64"] for r in runs]
    print(json.dumps({"recipe": "nanoGPT shakespeare_char CPU", "runs": runs, "mean_whole_split": float(np.mean(whole))},
                     indent=2))


if __name__ == "__main__":
    main()
