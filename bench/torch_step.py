"""The paper config's training step in PyTorch, timed the way `gradcause bench` times its own.

Same model as src/engine/model.rs (METHOD §2): 4 pre-LayerNorm blocks, 4 heads, d_model 128, d_ff 512,
GELU, learned absolute positions (32), vocabulary 104, N(0, 0.02²) weights with the residual
projections scaled by 1/√(2L). Same step as src/engine/train.rs: a fresh batch of 64 examples with
lengths 3–7 (`START x SEP y END`, padded to the longest, up to 17 tokens), the masked
cross-entropy over the answer tokens, exact-match counts read back, Adam (lr 1e-3, eps 1e-8).

    python3 bench/torch_step.py [--task sort] [--steps 50] [--warmup 10] [--threads 2]

Prints one JSON object: the median, mean and minimum milliseconds per step, the forward,
backward and optimiser phases, the threads, the torch version, and the code paths PyTorch takes on
this CPU: its own kernels' vector width and the instruction set MKL's matrix products use, as MKL
names it. On AMD CPUs MKL takes its generic path ("Intel(R) Architecture processors", AVX2 at
most) even where the CPU has AVX-512; `scripts/bench-threads` can measure it on its AVX-512 path
too (PYTORCH_MKL_INTEL_PATHS=1).
"""

import argparse
import ctypes
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, MAX_VALUE, START, SEP, END, PAD = 104, 99, 100, 101, 102, 103


def batch(task, size, low, high, generator):
    """Inputs, targets and the answer mask, `[size, positions]`, like task::Batch::generate."""
    sequences = []
    for _ in range(size):
        n = int(torch.randint(low, high + 1, (1,), generator=generator))
        x = torch.randint(0, MAX_VALUE + 1, (n,), generator=generator).tolist()
        y = x[::-1] if task == "reverse" else sorted(x)
        sequences.append((n, [START, *x, SEP, *y, END]))
    positions = max(2 * n + 2 for n, _ in sequences)
    inputs = torch.full((size, positions), PAD)
    targets = torch.full((size, positions), PAD)
    mask = torch.zeros(size, positions)
    for row, (n, tokens) in enumerate(sequences):
        inputs[row, : len(tokens) - 1] = torch.tensor(tokens[:-1])
        targets[row, : len(tokens) - 1] = torch.tensor(tokens[1:])
        mask[row, n + 1 : 2 * n + 2] = 1.0  # y1..yn and END
    return inputs, targets, mask


class Block(nn.Module):
    def __init__(self, d, heads, d_ff):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.w_in, self.w_out = nn.Linear(d, d_ff), nn.Linear(d_ff, d)

    def attention(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(z.transpose(1, 2).reshape(b, t, d))

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.w_out(F.gelu(self.w_in(self.ln2(x))))


class Transformer(nn.Module):
    def __init__(self, layers=4, heads=4, d=128, d_ff=512, context=32):
        super().__init__()
        self.token = nn.Embedding(VOCAB, d)
        self.position = nn.Embedding(context, d)
        self.blocks = nn.ModuleList(Block(d, heads, d_ff) for _ in range(layers))
        self.ln_final = nn.LayerNorm(d)
        self.unembed = nn.Linear(d, VOCAB)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() >= 2:
                residual = name.endswith(("out.weight", "w_out.weight"))
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * layers) if residual else 0.02)

    def forward(self, tokens):
        positions = torch.arange(tokens.shape[1])
        x = self.token(tokens) + self.position(positions)
        for block in self.blocks:
            x = block(x)
        return self.unembed(self.ln_final(x))


def mkl_code_path():
    """The instruction set MKL's matrix products take on this CPU, read from the line MKL's verbose
    mode prints first; None where torch has no MKL or the line is not found."""
    if not torch.backends.mkl.is_available():
        return None
    with tempfile.TemporaryFile() as log:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(log.fileno(), 1)  # MKL prints to the process's standard output, not Python's
        try:
            with torch.backends.mkl.verbose(torch.backends.mkl.VERBOSE_ON):
                torch.ones(64, 64) @ torch.ones(64, 64)
        finally:
            ctypes.CDLL(None).fflush(None)  # C's buffer, before the descriptor goes back
            os.dup2(saved, 1)
            os.close(saved)
        log.seek(0)
        text = log.read().decode(errors="replace")
    match = re.search(r"for Intel\(R\) 64 architecture (.*?), Lnx", text)
    return match.group(1) if match else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=["reverse", "sort"], default="sort")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    model = Transformer()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
    total, forward, backward, update = [], [], [], []
    for step in range(args.warmup + args.steps):
        inputs, targets, mask = batch(args.task, 64, 3, 7, generator)
        t0 = time.perf_counter()
        logits = model(inputs)
        picked = F.log_softmax(logits, dim=2).gather(2, targets.unsqueeze(2)).squeeze(2)
        loss = -(picked * mask).sum() / mask.sum()
        wrong = ((logits.argmax(2) != targets).float() * mask).sum(1)
        stats = torch.stack([loss.detach(), (wrong == 0).float().sum()])
        t1 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        stats.tolist()  # the read-back gradcause does every step
        t3 = time.perf_counter()
        if step >= args.warmup:
            total.append(t3 - t0)
            forward.append(t1 - t0)
            backward.append(t2 - t1)
            update.append(t3 - t2)

    ms = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
    print(
        json.dumps(
            {
                "framework": f"PyTorch {torch.__version__}",
                "threads": args.threads,
                "steps": args.steps,
                "median_ms": ms(total),
                "mean_ms": 1000 * statistics.fmean(total),
                "min_ms": 1000 * min(total),
                "forward_ms": ms(forward),
                "backward_ms": ms(backward),
                "optimizer_ms": ms(update),
                "parameters": sum(p.numel() for p in model.parameters()),
                "kernels": torch.backends.cpu.get_cpu_capability(),
                "matrix_products": mkl_code_path(),
            }
        )
    )


if __name__ == "__main__":
    main()
