"""The same byte-level pre-LN decoder in plain PyTorch: what a user would otherwise write.

It mirrors transfer_scaling.model.Transformer layer for layer (fused qkv with bias,
tanh-GELU, LayerNorm eps 1e-6, learned positions, output tied to the token embedding)
so that both have the same parameter count and the same FLOPs per token. The training
loop is the plain one: zero_grad, forward, cross-entropy, backward, AdamW step.
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn
import torch.nn.functional as F


class Block(nn.Module):

  def __init__(self, d_model, n_heads, d_ff):
    super().__init__()
    self.n_heads = n_heads
    self.ln1 = nn.LayerNorm(d_model, eps=1e-6)
    self.qkv = nn.Linear(d_model, 3 * d_model)
    self.out = nn.Linear(d_model, d_model)
    self.ln2 = nn.LayerNorm(d_model, eps=1e-6)
    self.fc1 = nn.Linear(d_model, d_ff)
    self.fc2 = nn.Linear(d_ff, d_model)

  def forward(self, x_BxLxD):
    B, L, D = x_BxLxD.shape
    H = self.n_heads
    qkv = self.qkv(self.ln1(x_BxLxD)).view(B, L, 3, H, D // H)
    q_BxHxLxK, k_BxHxLxK, v_BxHxLxK = qkv.permute(2, 0, 3, 1, 4)
    o_BxHxLxK = F.scaled_dot_product_attention(q_BxHxLxK, k_BxHxLxK, v_BxHxLxK, is_causal=True)
    x_BxLxD = x_BxLxD + self.out(o_BxHxLxK.transpose(1, 2).reshape(B, L, D))
    return x_BxLxD + self.fc2(F.gelu(self.fc1(self.ln2(x_BxLxD)), approximate="tanh"))


class Transformer(nn.Module):

  def __init__(self, d_model, n_layers, n_heads, seq_len=128, ff_mult=4, vocab=256):
    super().__init__()
    self.embed = nn.Embedding(vocab, d_model)
    self.pos_embed = nn.Parameter(torch.randn(seq_len, d_model) * 0.02)
    nn.init.normal_(self.embed.weight, std=0.02)
    self.blocks = nn.ModuleList(Block(d_model, n_heads, ff_mult * d_model) for _ in range(n_layers))
    self.ln_f = nn.LayerNorm(d_model, eps=1e-6)

  def forward(self, tokens_BxL):
    x_BxLxD = self.embed(tokens_BxL) + self.pos_embed[:tokens_BxL.shape[1]]
    for block in self.blocks:
      x_BxLxD = block(x_BxLxD)
    return self.ln_f(x_BxLxD) @ self.embed.weight.T

  def count_params(self, non_embedding=True):
    skip = {"embed.weight", "pos_embed"} if non_embedding else set()
    return sum(p.numel() for name, p in self.named_parameters() if name not in skip)


class Runner:
  """The plain PyTorch training loop on random bytes: `call(n)` runs n steps, returns seconds."""

  def __init__(self, d_model, n_layers, n_heads, batch, seq_len, seed=0):
    torch.manual_seed(seed)
    self.model = Transformer(d_model, n_layers, n_heads, seq_len)
    self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-3, weight_decay=0.1)
    self.data = torch.randint(0, 256, (2, batch, seq_len + 1))
    self.tokens_per_step = batch * seq_len
    self.steps, self.cpu_seconds = 0, []
    self.call(2)  # warm-up: allocator, oneDNN primitive caches
    self.cpu_seconds.clear()

  def step(self, tokens_BxT1):
    self.opt.zero_grad(set_to_none=True)
    logits = self.model(tokens_BxT1[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens_BxT1[:, 1:].reshape(-1))
    loss.backward()
    self.opt.step()
    return loss.detach()

  def call(self, n):
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
      self.loss = float(self.step(self.data[self.steps % 2]))  # eager: the step is done when this returns
      self.steps += 1
    self.cpu_seconds.append(time.process_time() - c0)
    return time.perf_counter() - t0


def bench_train(d_model, n_layers, n_heads, batch, seq_len, steps, seed=0):
  """Times the plain PyTorch training loop on random bytes; returns the bench JSON dict."""
  runner = Runner(d_model, n_layers, n_heads, batch, seq_len, seed)
  times = [runner.call(1) for _ in range(steps)]
  step_s = statistics.median(times)
  return {"tokens_per_s": runner.tokens_per_step / step_s, "step_ms": 1e3 * step_s,
          "step_ms_min": 1e3 * min(times), "n_params": runner.model.count_params(),
          "device": f"cpu ({torch.get_num_threads()} threads)", "framework": f"torch {torch.__version__}",
          "loss": runner.loss}


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--d-model", type=int, required=True)
  p.add_argument("--n-layers", type=int, required=True)
  p.add_argument("--n-heads", type=int, default=0, help="default: d_model // 32, at least 1")
  p.add_argument("--batch", type=int, default=32)
  p.add_argument("--seq-len", type=int, default=128)
  p.add_argument("--steps", type=int, default=20)
  p.add_argument("--json", default="")
  a = p.parse_args()
  out = bench_train(a.d_model, a.n_layers, a.n_heads or max(1, a.d_model // 32), a.batch, a.seq_len, a.steps)
  print(json.dumps(out))
  if a.json:
    with open(a.json, "w") as f:
      json.dump(out, f, indent=2)


if __name__ == "__main__":
  main()
