#!/usr/bin/env python3
"""The transformer of `wasm/src/model/sasrec.rs` in PyTorch, trained the way `edgerec-train train`
trains it, to compare training throughput (sequences per second) side by side with candle.

Same architecture and step: item + position + event-kind + time-gap embeddings, input layer norm,
pre-LN causal blocks (fused qkv, GELU-erf feed-forward, dropout on attention and residuals),
output layer norm, cosine next-item scores over a temperature, sampled softmax (the batch's
distinct targets plus uniform negatives, logQ-corrected), AdamW. Same windows (every next-item
target once, at most max_len + 1 items) and batches sorted by length within blocks.

    bench-train-torch.py TRAIN_SESSIONS CONFIG_JSON STEPS OUT_JSON
CONFIG_JSON holds the `[model]` and `[train]` tables of the TOML config, as JSON.
"""
import json
import math
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_EVENT_KINDS, NUM_GAP_BUCKETS = 4, 22


def windows(sequences, max_len):
    out = []
    for seq in sequences:
        if len(seq) < 2:
            continue
        end = len(seq)
        while end >= 2:
            start = max(0, end - (max_len + 1))
            out.append(seq[start:end])
            end = start + 1
            if start == 0:
                break
    return out


class Block(nn.Module):
    def __init__(self, h, heads, ffn, dropout):
        super().__init__()
        self.ln_attn, self.ln_ffn = nn.LayerNorm(h, eps=1e-6), nn.LayerNorm(h, eps=1e-6)
        self.qkv, self.out = nn.Linear(h, 3 * h), nn.Linear(h, h)
        self.up, self.down = nn.Linear(h, ffn), nn.Linear(ffn, h)
        self.heads, self.drop = heads, nn.Dropout(dropout)

    def forward(self, x, mask):
        b, l, h = x.shape
        dh = h // self.heads
        q, k, v = self.qkv(self.ln_attn(x)).split(h, dim=-1)
        split = lambda t: t.reshape(b, l, self.heads, dh).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + mask
        attn = self.drop(torch.softmax(scores, dim=-1))
        ctx = (attn @ v).transpose(1, 2).reshape(b, l, h)
        x = x + self.drop(self.out(ctx))
        return x + self.drop(self.down(F.gelu(self.up(self.ln_ffn(x)))))


class SasRec(nn.Module):
    def __init__(self, n, m):
        super().__init__()
        h = m["hidden"]
        self.item = nn.Embedding(n, h)
        self.position = nn.Embedding(m["max_len"], h)
        self.kind = nn.Embedding(NUM_EVENT_KINDS, h)
        self.gap = nn.Embedding(NUM_GAP_BUCKETS, h)
        self.ln_input, self.ln_output = nn.LayerNorm(h, eps=1e-6), nn.LayerNorm(h, eps=1e-6)
        self.blocks = nn.ModuleList(Block(h, m["heads"], m["ffn"], m["dropout"]) for _ in range(m["layers"]))
        self.drop, self.temperature = nn.Dropout(m["dropout"]), m["temperature"]
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, items, lengths):
        b, l = items.shape
        pos = torch.arange(l)
        # Every event a click with no time gap, as `history_row` encodes sequence data.
        x = self.item(items) + self.position(pos)[None] + self.kind(torch.ones_like(items)) + self.gap(torch.zeros_like(items))
        x = self.drop(self.ln_input(x))
        causal = torch.triu(torch.ones(l, l, dtype=torch.bool), 1)
        padded = pos[None, :] >= lengths[:, None]
        mask = torch.zeros(b, 1, l, l).masked_fill(causal[None, None] | padded[:, None, None, :], -1e9)
        for block in self.blocks:
            x = block(x, mask)
        return self.ln_output(x)


def main():
    sessions_path, config_path, steps, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    config = json.load(open(config_path))
    m, t = config["model"], config["train"]
    torch.manual_seed(t["seed"])
    random.seed(t["seed"])
    torch.set_num_threads(int(config.get("threads", torch.get_num_threads())))
    raw = [line.split() for line in open(sessions_path) if line.strip()]
    ids = {}
    sequences = [[ids.setdefault(i, len(ids)) for i in s] for s in raw]
    n = len(ids)
    ws = windows(sequences, m["max_len"])
    counts = torch.zeros(n)
    for w in ws:
        for i in w[1:]:
            counts[i] += 1
    share = counts / counts.sum()
    model = SasRec(n, m)
    decay = [p for name, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for name, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": t["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=t["lr"])
    order = list(range(len(ws)))
    random.shuffle(order)
    bs = t["batch_size"]
    blocks = [sorted(order[i:i + bs * 32], key=lambda j: len(ws[j])) for i in range(0, len(order), bs * 32)]
    batches = [blk[i:i + bs] for blk in blocks for i in range(0, len(blk), bs)]
    random.shuffle(batches)
    model.train()
    negatives = t["negatives"]
    timings, sequences_done, losses = [], 0, []
    warmup = 5  # steps left out of the timing (allocator and thread-pool warm-up)
    for step, batch in enumerate(batches[: steps + warmup]):
        started = time.perf_counter()
        rows = [ws[j] for j in batch]
        l = max(len(r) - 1 for r in rows)
        items = torch.zeros(len(rows), l, dtype=torch.long)
        lengths = torch.tensor([len(r) - 1 for r in rows])
        positions, targets = [], []
        for b, r in enumerate(rows):
            items[b, : len(r) - 1] = torch.tensor(r[:-1])
            for p in range(len(r) - 1):
                positions.append(b * l + p)
                targets.append(r[p + 1])
        hidden = model(items, lengths).reshape(-1, m["hidden"])[torch.tensor(positions)]
        targets = torch.tensor(targets)
        distinct, labels = torch.unique(targets, return_inverse=True)
        drawn = torch.randint(0, n, (negatives,))
        drawn = drawn[~torch.isin(drawn, distinct)].unique()
        candidates = torch.cat([distinct, drawn])
        log_q = torch.log(len(targets) * share[candidates] + negatives / n)
        table = F.normalize(model.item(candidates), dim=-1)
        logits = F.normalize(hidden, dim=-1) @ table.T / model.temperature - log_q[None]
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= warmup:
            timings.append(time.perf_counter() - started)
            sequences_done += len(rows)
            losses.append(loss.item())
    seconds = sum(timings)
    result = {
        "framework": f"PyTorch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "steps": len(timings),
        "sequences": sequences_done,
        "seconds": seconds,
        "sequences_per_second": sequences_done / seconds,
        "mean_step_ms": 1000 * seconds / len(timings),
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "items": n,
        "windows": len(ws),
    }
    json.dump(result, open(out_path, "w"), indent=2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
