"""The graph VAE in PyTorch (+ PyTorch Geometric): a faithful copy of
model-core's encoder, decoder, gap head and loss, trained over batches the
Rust trainer exported, so that `trainer bench torch` can time both on the
same work.

Same as burn's model: the layers and their sizes (the parameter count is
printed, and the Rust side refuses a mismatch), the loss terms and weights,
Adam (betas 0.9/0.999, eps 1e-5, as burn's) with per-tensor gradient-norm
clipping. The batches (disjoint graphs, teacher-forcing targets and masks,
gaps, reparameterisation noise) are the Rust trainer's own, read from a
safetensors file: only the model's compute is timed, on either side.

Usage (what `trainer bench torch` runs):
    python benchmarks/torch_vae.py BATCHES.safetensors [--threads N]
        [--aggregation pyg|index_add] [--device cpu|cuda]
Prints one JSON object on stdout.
"""

import argparse
import json
import sys
import time

import torch
from safetensors import safe_open
from torch import nn
from torch.nn import functional as F

try:
    from torch_geometric.nn import MessagePassing

    HAVE_PYG = True
except ImportError:  # plain index_add_ still works
    HAVE_PYG = False


def mlp(inputs, hidden, outputs):
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, outputs))


if HAVE_PYG:

    class SumMessages(MessagePassing):
        """Sum of transformed neighbour states, PyG's way."""

        def __init__(self, transform):
            super().__init__(aggr="add")
            self.transform = transform

        def forward(self, h, edge_index):
            return self.propagate(edge_index, h=h)

        def message(self, h_j):
            return self.transform(h_j)


class MessageLayer(nn.Module):
    def __init__(self, hidden, aggregation):
        super().__init__()
        self.self_update = nn.Linear(hidden, hidden)
        self.by_bond = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(3))
        self.norm = nn.LayerNorm(hidden, eps=1e-5)
        self.aggregation = aggregation
        if aggregation == "pyg":
            self.passing = nn.ModuleList(SumMessages(t) for t in self.by_bond)

    def forward(self, h, edges):
        update = self.self_update(h)
        for order, edge_index in enumerate(edges):
            if edge_index is None:
                continue
            if self.aggregation == "pyg":
                update = update + self.passing[order](h, edge_index)
            else:
                src, dst = edge_index
                update = update.index_add(0, dst, self.by_bond[order](h[src]))
        return self.norm(h + F.relu(update))


class GraphVae(nn.Module):
    def __init__(self, c, aggregation):
        super().__init__()
        hidden, latent, atoms = c["hidden"], c["latent"], c["atom_choices"]
        self.c = c
        self.embed = nn.Embedding(atoms, hidden)
        self.layers = nn.ModuleList(MessageLayer(hidden, aggregation) for _ in range(c["layers"]))
        self.mu = nn.Linear(2 * hidden, latent)
        self.log_var = nn.Linear(2 * hidden, latent)
        gru_input = c["token_embedding"] + c["links_width"] + latent
        self.initial_state = nn.Linear(latent, hidden)
        self.token = nn.Embedding(atoms, c["token_embedding"])
        self.gru = nn.GRU(gru_input, hidden, batch_first=True)
        self.atom_head = mlp(hidden, hidden, atoms)
        self.added_atom = nn.Embedding(atoms, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.distance = nn.Embedding(c["max_atoms"], hidden)
        self.free_valence = nn.Embedding(c["free_valence_rows"], hidden)
        self.bond_head = mlp(hidden, hidden, c["bond_choices"])
        self.gap_head = mlp(latent, hidden, 1)

    def encode(self, b):
        h = self.embed(b["node_states"])
        for layer in self.layers:
            h = layer(h, b["edges"])
        graphs = b["sizes"].shape[0]
        total = torch.zeros(graphs, h.shape[1], device=h.device).index_add(0, b["node_graph"], h)
        pooled = torch.cat([total / b["sizes"], total / self.c["max_atoms"]], 1)
        return self.mu(pooled), self.log_var(pooled).clamp(-10.0, 10.0)

    def decode(self, z, b):
        graphs, steps = b["prev_token"].shape
        hidden = self.c["hidden"]
        inputs = torch.cat(
            [
                self.token(b["prev_token"]),
                b["prev_links"],
                z.unsqueeze(1).expand(graphs, steps, z.shape[1]),
            ],
            2,
        )
        states, _ = self.gru(inputs, torch.tanh(self.initial_state(z)).unsqueeze(0))
        atom_logits = self.atom_head(states).reshape(graphs * steps, -1)
        added = self.added_atom(b["atom_target"].reshape(graphs, steps))
        nodes = (states + added).reshape(graphs * steps, hidden)
        pair = (
            nodes[b["bond_new"]]
            + self.key(nodes[b["bond_earlier"]])
            + self.distance(b["bond_distance"])
            + self.free_valence(b["bond_free"])
        )
        return atom_logits, self.bond_head(F.relu(pair))

    def loss(self, b):
        mu, log_var = self.encode(b)
        z = mu + (0.5 * log_var).exp() * b["noise"]
        atom_logits, bond_logits = self.decode(z, b)
        n = mu.shape[0]
        atoms = -(masked_log_probs(atom_logits, b["atom_forbidden"], b["atom_target"]) * b["atom_weight"]).sum()
        bonds = -masked_log_probs(bond_logits, b["bond_forbidden"], b["bond_target"]).sum()
        kl = (0.5 * (mu.pow(2) + log_var.exp() - log_var - 1.0)).sum()
        gap = (self.gap_head(mu) - b["gaps"]).pow(2).sum()
        return (atoms + bonds) / n, kl / n, gap / n


def masked_log_probs(logits, forbidden, targets):
    log_p = F.log_softmax(logits.masked_fill(forbidden, -1e9), 1)
    return log_p.gather(1, targets.unsqueeze(1)).squeeze(1)


def load_batches(path, device):
    """The exported batches, as tensors on `device` (not timed)."""
    fields = {}
    with safe_open(path, framework="pt") as f:
        config = json.loads(f.metadata()["config"])
        for key in f.keys():
            index, name = key.split(".", 1)
            fields.setdefault(int(index), {})[name] = f.get_tensor(key)
    batches = []
    for index in sorted(fields):
        raw = fields[index]
        b = {k: v.to(device) for k, v in raw.items() if not k.startswith("edges")}
        for k in ("node_states", "node_graph", "prev_token", "atom_target", "bond_new",
                  "bond_earlier", "bond_distance", "bond_free", "bond_target"):
            b[k] = b[k].long()
        for k in ("atom_forbidden", "bond_forbidden"):
            b[k] = b[k].bool()
        b["edges"] = [
            torch.stack([raw[f"edges{o}.src"], raw[f"edges{o}.dst"]]).long().to(device)
            if f"edges{o}.src" in raw else None
            for o in range(3)
        ]
        batches.append(b)
    return config, batches


class ClippedAdam:
    """Adam with each parameter's gradient clipped to a norm first (burn's
    GradientClippingConfig::Norm clips per tensor, not globally)."""

    def __init__(self, params, lr, clip):
        self.params = list(params)
        self.clip = clip
        self.adam = torch.optim.Adam(self.params, lr=lr, betas=(0.9, 0.999), eps=1e-5)

    def step(self):
        with torch.no_grad():
            for p in self.params:
                if p.grad is not None:
                    norm = p.grad.norm()
                    p.grad.mul_((self.clip / (norm + 1e-38)).clamp(max=1.0))
        self.adam.step()
        self.adam.zero_grad(set_to_none=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("batches")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--aggregation", choices=["pyg", "index_add"], default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    aggregation = args.aggregation or ("pyg" if HAVE_PYG else "index_add")
    if aggregation == "pyg" and not HAVE_PYG:
        sys.exit("torch_geometric is not installed; pip install -r benchmarks/requirements.txt")
    torch.manual_seed(0)
    device = torch.device(args.device)
    config, batches = load_batches(args.batches, device)
    model = GraphVae(config, aggregation).to(device)
    optimizer = ClippedAdam(model.parameters(), config["learning_rate"], config["grad_clip_norm"])

    def train_step(b):
        rec, kl, gap = model.loss(b)
        total = rec + kl * config["kl_weight"] + gap * config["gap_weight"]
        total.backward()
        optimizer.step()
        return total

    for b in batches[: args.warmup]:
        train_step(b)
    timed = batches[args.warmup:]
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    graphs = 0
    for b in timed:
        last = train_step(b)
        graphs += b["sizes"].shape[0]
    final_loss = float(last.detach())  # the one read-back, which also waits for the device
    seconds = time.perf_counter() - started
    print(json.dumps({
        "graphs_per_second": graphs / seconds,
        "graphs": graphs,
        "seconds": seconds,
        "parameters": sum(p.numel() for p in model.parameters()),
        "final_loss": final_loss,
        "torch": torch.__version__,
        "aggregation": aggregation,
        "threads": torch.get_num_threads(),
        "device": str(device),
    }))


if __name__ == "__main__":
    main()
