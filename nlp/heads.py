"""Small task heads over sentence embeddings: train (torch), save/load (safetensors + JSON card), apply (numpy).

A head is a one-hidden-layer MLP (or plain logistic regression when ``hidden == 0``) trained
with class-weighted cross-entropy, so macro-F1 does not collapse on rare classes: class ``k``
weighs ``(n / (K * n_k)) ** class_weight_power`` (1 = inverse frequency, 0.5 = its square root,
0 = unweighted). Inference
is a couple of numpy matmuls, negligible next to the encoder.

A head may also have a *wide* side (``wide`` weights, one row per hash bucket): hashed word and
character n-grams of the text itself (``nlp.ngrams``) add their logits to the network's, trained
jointly with it. Such a head needs the texts next to their embeddings (``texts=``).

A complaint head's card may say to blend it with the sentiment model (``sentiment_blend``:
``complaint_weight`` w): the complaint probability is then w × the head's + (1 − w) × the
sentiment model's *negative* probability for the same text (``blend_complaint``). The tweets the
English complaint head learned from all address an airline or Apple; the sentiment head read
44,000 tweets on every topic, and the blend carries that breadth (``nlp.train.complaint_blend``).
An average of two calibrated probabilities is pulled towards the middle, so the blend has a
temperature of its own (``sentiment_blend.temperature``, fitted on held-out data like the heads'):
the blended probability's log-odds are divided by it.

Probabilities are calibrated: the card's ``calibration.temperature`` divides the logits
(fitted on held-out data by ``nlp.calibration``; 1 when absent). Decisions may use per-label
thresholds (``decide``): the card's ``thresholds`` (tuned on held-out data), overridden by the
``models.thresholds`` setting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nlp.ngrams import ngram_ids, wide_logits

HEADS_DIR = Path(__file__).with_name("heads")


@dataclass
class Head:
    """Weights and card of one (task, lang) head."""

    task: str
    lang: str
    labels: list[str]
    weights: dict[str, np.ndarray]
    card: dict[str, Any] = field(default_factory=dict)

    def logits(self, embeddings: np.ndarray, prefix: str = "", texts: Sequence[str] | None = None) -> np.ndarray:
        """Uncalibrated logits (before the temperature) of the network whose weights start with ``prefix``;
        ``texts`` (the ones embedded, in order) feed its wide side, where it has one."""
        x = embeddings.astype(np.float32)
        if f"{prefix}w1" in self.weights:
            x = np.maximum(x @ self.weights[f"{prefix}w1"].T + self.weights[f"{prefix}b1"], 0.0)
        out = x @ self.weights[f"{prefix}w2"].T + self.weights[f"{prefix}b2"]
        wide = self.weights.get(f"{prefix}wide")
        if wide is not None:
            if texts is None or len(texts) != len(embeddings):
                raise ValueError(f"{self.name} reads n-grams of the texts too: pass texts= (one per embedding)")
            out = out + wide_logits(texts, wide)
        return out

    @property
    def temperature(self) -> float:
        return float(self.card.get("calibration", {}).get("temperature", 1.0))

    def predict_proba(self, embeddings: np.ndarray, texts: Sequence[str] | None = None,
                      branch_logits: np.ndarray | None = None) -> np.ndarray:
        """Calibrated class probabilities, one row per embedding (``texts``: see ``logits``).

        A *mixture* head (card ``mixture``) holds one expert per text domain (e.g. ``review`` and
        ``social``), each with its own weights (prefix ``<domain>.``) and temperature, and a
        gate (prefix ``gate.``) giving each text's domain probabilities; the output is the
        gate-weighted mean of the experts' calibrated probabilities.

        ``branch_logits`` (the English sentiment branch's logits for the same texts, ``nlp.branch``)
        are mixed in by the card's ``branch`` weight and temperature (``mix_branch``).
        """
        mixture = self.card.get("mixture")
        if not mixture:
            probs = softmax(self.logits(embeddings, texts=texts) / self.temperature)
            if branch_logits is None:
                return probs
            if "branch" not in self.card:
                raise ValueError(f"{self.name} mixes no branch (its card has no 'branch' section)")
            return mix_branch(probs, branch_logits, self.card["branch"])
        gate = softmax(self.logits(embeddings, "gate.", texts))
        out = np.zeros((len(embeddings), len(self.labels)), dtype=np.float64)
        for column, domain in enumerate(mixture["domains"]):
            expert = softmax(self.logits(embeddings, f"{domain}.", texts) / float(mixture["temperatures"].get(domain, 1.0)))
            out += gate[:, column:column + 1] * expert
        return out

    def expert(self, domain: str) -> "Head":
        """One domain's expert of a mixture head as a plain head (its own temperature in the card)."""
        prefix = f"{domain}."
        weights = {k[len(prefix):]: v for k, v in self.weights.items() if k.startswith(prefix)}
        if not weights:
            raise KeyError(f"{self.name} has no {domain!r} expert")
        return Head(self.task, self.lang, self.labels, weights,
                    {"calibration": {"temperature": self.card["mixture"]["temperatures"].get(domain, 1.0)}})

    def thresholds(self, overrides: dict[str, float] | None = None, branch: bool = False) -> dict[str, float]:
        """Per-label decision thresholds: the card's (its ``branch`` section's when the branch is mixed in),
        then ``models.thresholds`` entries for this head."""
        card = self.card["branch"] if branch else self.card
        out = {k: float(v) for k, v in card.get("thresholds", {}).items()}
        prefix = f"{self.name}:"
        out.update({k[len(prefix):]: float(v) for k, v in (overrides or {}).items() if k.startswith(prefix)})
        return out

    def decide(self, probs: np.ndarray, overrides: dict[str, float] | None = None, branch: bool = False) -> list[str]:
        """The decided label per row (see ``decide_labels``); ``branch``: the probabilities mix the branch in."""
        return decide_labels(probs, self.labels, self.thresholds(overrides, branch))

    @property
    def name(self) -> str:
        return f"{self.task}-{self.lang}"

    @property
    def complaint_weight(self) -> float:
        """The complaint head's share when blended with the sentiment model (1: the head alone)."""
        return float(self.card.get("sentiment_blend", {}).get("complaint_weight", 1.0))

    def blend_temperature(self, weight: float) -> float:
        """The temperature of the blend at ``weight``: the card's, fitted for the card's weight; 1 at any other."""
        blend = self.card.get("sentiment_blend", {})
        return float(blend.get("temperature", 1.0)) if weight == self.complaint_weight else 1.0


def mix_branch(probs: np.ndarray, branch_logits: np.ndarray, branch: dict[str, Any]) -> np.ndarray:
    """The head's calibrated probabilities averaged with the branch's (its logits over its temperature),
    the branch weighing ``branch["weight"]``."""
    if branch_logits.shape != probs.shape:
        raise ValueError(f"branch logits {branch_logits.shape} do not match the head's probabilities {probs.shape}")
    weight = float(branch["weight"])
    return (1.0 - weight) * probs + weight * softmax(branch_logits / float(branch.get("temperature", 1.0)))


def blend_complaint(complaint: np.ndarray, negative: np.ndarray, weight: float, temperature: float = 1.0) -> np.ndarray:
    """``weight`` × a complaint head's probability + (1 − ``weight``) × the sentiment model's negative one,
    its log-odds divided by ``temperature`` (the head alone, ``weight`` 1, is returned as it is)."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"complaint weight {weight} is not between 0 and 1")
    if weight == 1.0:
        return complaint
    blended = weight * np.asarray(complaint, dtype=np.float64) + (1.0 - weight) * np.asarray(negative, dtype=np.float64)
    if temperature == 1.0:
        return blended
    return 1.0 / (1.0 + np.exp(-blend_log_odds(blended) / temperature))


def blend_log_odds(probability: np.ndarray) -> np.ndarray:
    """log(p / (1 − p)), kept finite at 0 and 1."""
    p = np.clip(np.asarray(probability, dtype=np.float64), 1e-7, 1.0 - 1e-7)
    return np.log(p / (1.0 - p))


def complaint_rows(labels: list[str], complaint: np.ndarray) -> np.ndarray:
    """Probability rows over a complaint head's two ``labels`` from the probability of ``complaint``."""
    out = np.zeros((len(complaint), len(labels)))
    column = labels.index("complaint")
    out[:, column], out[:, 1 - column] = complaint, 1.0 - np.asarray(complaint)
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(z)
    return exp / exp.sum(axis=1, keepdims=True)


def decide_labels(probs: np.ndarray, labels: list[str], thresholds: dict[str, float]) -> list[str]:
    """A thresholded label wins when its probability reaches its threshold (the one furthest above
    its threshold if several do); otherwise the most probable label among the rest."""
    out = []
    index = {label: i for i, label in enumerate(labels)}
    gated = [(index[label], t) for label, t in thresholds.items() if label in index]
    for row in probs:
        passing = [(row[i] - t, i) for i, t in gated if row[i] >= t]
        if passing:
            out.append(labels[max(passing)[1]])
            continue
        masked = row.copy()
        for i, _ in gated:
            masked[i] = -1.0
        out.append(labels[int(masked.argmax())] if len(gated) < len(labels) else labels[int(row.argmax())])
    return out


def save_head(head: Head, directory: Path) -> Path:
    from safetensors.numpy import save_file

    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in head.weights.items()},
              str(directory / f"{head.name}.safetensors"))
    card = dict(head.card, task=head.task, lang=head.lang, labels=head.labels)
    (directory / f"{head.name}.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return directory / f"{head.name}.safetensors"


def load_head(directory: Path, task: str, lang: str) -> Head:
    """Load ``<task>-<lang>`` from ``directory``; FileNotFoundError names the fix."""
    from safetensors.numpy import load_file

    weights_path = directory / f"{task}-{lang}.safetensors"
    card_path = directory / f"{task}-{lang}.json"
    if not weights_path.exists() or not card_path.exists():
        raise FileNotFoundError(f"no trained {task} head for {lang!r} in {directory}; run: brandguard nlp train")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    return Head(task, lang, list(card["labels"]), load_file(str(weights_path)), card)


def class_weights(y: Sequence[int] | np.ndarray, n_labels: int, power: float) -> np.ndarray:
    """Per-class loss weights ``(n / (K * n_k)) ** power`` (float32; a class absent from ``y`` counts as one)."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_labels).astype(np.float32)
    return (counts.sum() / (n_labels * np.maximum(counts, 1.0))) ** power


def train_head(x: np.ndarray, y: np.ndarray, labels: list[str], *, seed: int, hidden: int = 256,
               epochs: int = 60, lr: float = 2e-3, weight_decay: float = 1e-4, dropout: float = 0.2,
               class_weight_power: float = 1.0, texts: Sequence[str] | None = None, wide_buckets: int = 0,
               wide_l2: float = 0.0) -> dict[str, np.ndarray]:
    """Train a head on embeddings ``x`` and label indices ``y``; deterministic for a seed.

    ``class_weight_power`` tempers the inverse-frequency class weights (see the module docstring).
    ``wide_buckets`` > 0 adds the wide side (``texts`` required, one per row of ``x``): one logit row
    per n-gram bucket, zero at the start, fitted jointly with the network, ``wide_l2`` times the
    sum of its squared weights added to every batch's loss.
    """
    import torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xt = torch.from_numpy(x.astype(np.float32))
    yt = torch.from_numpy(y.astype(np.int64))
    class_weight = torch.from_numpy(class_weights(y, len(labels), class_weight_power))
    dim = x.shape[1]
    if hidden:
        model = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(dim, hidden), torch.nn.ReLU(),
                                    torch.nn.Dropout(dropout), torch.nn.Linear(hidden, len(labels)))
    else:
        model = torch.nn.Sequential(torch.nn.Linear(dim, len(labels)))
    params = [{"params": model.parameters(), "weight_decay": weight_decay}]
    wide = None
    if wide_buckets:
        if texts is None or len(texts) != len(x):
            raise ValueError("a wide head needs texts= (one per embedding)")
        wide = torch.nn.EmbeddingBag(wide_buckets, len(labels), mode="sum")
        torch.nn.init.zeros_(wide.weight)
        params.append({"params": wide.parameters(), "weight_decay": 0.0})
        grams = [torch.tensor(ngram_ids(t, wide_buckets)) for t in texts]  # a copy: the ids are read-only
    opt = torch.optim.AdamW(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weight)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(xt), 64):
            idx = perm[start:start + 64]
            opt.zero_grad()
            out = model(xt[idx] * 8.0)  # unit-norm inputs: scale up for faster fitting
            if wide is not None:
                out = out + _wide_forward(wide, [grams[i] for i in idx.tolist()])
            loss = loss_fn(out, yt[idx])
            if wide is not None and wide_l2:
                loss = loss + wide_l2 * wide.weight.pow(2).sum()
            loss.backward()
            opt.step()
        sched.step()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    out: dict[str, np.ndarray] = {}
    if hidden:
        out["w1"] = linears[0].weight.detach().numpy() * 8.0
        out["b1"] = linears[0].bias.detach().numpy()
    else:
        linears[0].weight.data *= 8.0
    out["w2"] = linears[-1].weight.detach().numpy()
    out["b2"] = linears[-1].bias.detach().numpy()
    if wide is not None:
        out["wide"] = wide.weight.detach().numpy()
    return out


def _wide_forward(wide: Any, grams: list[Any]) -> Any:
    """``nlp.ngrams.wide_logits`` in torch: each text's rows summed over the square root of their count."""
    import torch

    flat = torch.cat(grams)
    offsets = torch.tensor([0] + [len(g) for g in grams[:-1]]).cumsum(0)
    scale = torch.cat([torch.full((len(g),), 1.0 / max(len(g), 1) ** 0.5) for g in grams])
    return wide(flat, offsets, per_sample_weights=scale)


def train_ensemble(x: np.ndarray, y: np.ndarray, labels: list[str], *, seeds: list[int],
                   **hyper: Any) -> dict[str, np.ndarray]:
    """``train_head`` once per seed, merged into one head whose logits are the members' mean.

    An MLP member's hidden units sit side by side (``w1``/``b1`` stacked, ``w2`` concatenated and
    divided by the member count), so the merged head is an ordinary MLP: nothing changes where
    heads are loaded or applied, and the result no longer hangs on one initialisation.
    """
    members = [train_head(x, y, labels, seed=seed, **hyper) for seed in seeds]
    merged = {"b2": np.mean([m["b2"] for m in members], axis=0)}
    if "wide" in members[0]:  # linear in its weights, like a logistic regression
        merged["wide"] = np.mean([m["wide"] for m in members], axis=0)
    if "w1" not in members[0]:  # logistic regressions: the mean of their weights is the mean of their logits
        return {**merged, "w2": np.mean([m["w2"] for m in members], axis=0)}
    return {**merged, "w1": np.vstack([m["w1"] for m in members]), "b1": np.concatenate([m["b1"] for m in members]),
            "w2": np.hstack([m["w2"] for m in members]) / len(members)}
