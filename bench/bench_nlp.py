"""Benchmark the analysis stage: mentions/s on a mixed stream, torch fp32 vs ONNX fp32 vs ONNX int8.

The stream is 80% tweet-length and 20% review-length texts, half English and half Persian,
drawn (seeded) from the labeled data. Each runtime runs the full ``Analyzer`` (language id,
normalisation, encoder, heads, cues) in worker-sized batches. The figure is also expressed as
a fraction of this machine's measured fp32 matmul ceiling (the best GEMM GFLOP/s torch or ONNX
Runtime reach with the same thread count), counting only useful encoder FLOPs per mention (from
the stream's real token lengths: padding is not counted), the English sentiment branch's included
where the analyser runs it (``branch_gflop_per_mention``).

    BRANDGUARD_TRAIN_DATA=../shared/data python bench/bench_nlp.py   # 400 mentions, 2 threads, all runtimes
    python bench/bench_nlp.py --n 100 --runtimes torch,onnx-int8

Needs ``brandguard nlp prepare --onnx`` (the encoder and its ONNX exports).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path


def data_folder(option: Path | None, settings) -> Path:  # noqa: ANN001
    """The labeled-data folder the stream is drawn from: ``--data``, else ``models.train_data_dir``
    (``BRANDGUARD_TRAIN_DATA``); exits with a clear message when neither is set."""
    folder = option or settings.models.train_data_dir
    if folder is None or not Path(folder).is_dir():
        raise SystemExit("the benchmark stream is drawn from the labeled data: pass --data DIR or set "
                         "BRANDGUARD_TRAIN_DATA (brandguard nlp data lists the files)")
    return Path(folder)


def mixed_stream(n: int, seed: int, data: Path) -> list[str]:
    rng = random.Random(seed)

    def texts(name: str) -> list[str]:
        return [json.loads(line)["text"] for line in (data / name).read_text(encoding="utf-8").splitlines() if line.strip()]

    en_short = [t for t in texts("tweeteval_sentiment_val.jsonl") + texts("tweeteval_emotion_train.jsonl") if len(t) < 200]
    fa_short = [t for t in texts("armanemo_train.jsonl") if len(t) < 200]
    fa_long = [t for t in texts("deepsentipers_train.jsonl") if len(t) >= 300]
    stream = []
    for i in range(n):
        review = rng.random() < 0.2
        persian = rng.random() < 0.5
        if review and persian:
            stream.append(rng.choice(fa_long))
        elif review:  # English reviews: several related tweets make a review-length text
            stream.append(" ".join(rng.sample(en_short, 5)))
        else:
            stream.append(rng.choice(fa_short if persian else en_short))
    return stream


def matmul_ceiling_gflops(threads: int, repeats: int = 5) -> dict[str, float]:
    """Best fp32 GEMM rate reached here by torch and by ONNX Runtime (its MLAS kernels run the encoder).

    Shapes: square 512/1024/2048 and the encoder's own (2,048 token rows x 384 -> 1,536 -> 384).
    The max over shapes and repeats is the ceiling, not a typical run.
    """
    import onnxruntime as ort
    import torch
    from onnx import TensorProto, helper, numpy_helper

    shapes = [(512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048), (2048, 384, 1536), (2048, 1536, 384)]
    torch.set_num_threads(threads)
    rates: dict[str, list[float]] = {"torch": [], "onnxruntime": []}
    for m, k, n in shapes:
        a, b = torch.randn(m, k), torch.randn(k, n)
        a @ b
        for _ in range(repeats):
            started = time.perf_counter()
            a @ b
            rates["torch"].append(2 * m * k * n / (time.perf_counter() - started) / 1e9)
        graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm",
                                  [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])],
                                  [helper.make_tensor_value_info("c", TensorProto.FLOAT, [m, n])],
                                  [numpy_helper.from_array(b.numpy(), "b")])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
                                       .SerializeToString(), options, providers=["CPUExecutionProvider"])
        feed = {"a": a.numpy()}
        session.run(None, feed)
        for _ in range(repeats):
            started = time.perf_counter()
            session.run(None, feed)
            rates["onnxruntime"].append(2 * m * k * n / (time.perf_counter() - started) / 1e9)
    return {name: max(values) for name, values in rates.items()}


def flops_per_mention(config, lengths: list[int]) -> float:  # noqa: ANN001
    """Encoder FLOPs (multiply-add = 2) per mention: dense layers plus attention scores/context."""
    h, ff, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    dense = 2 * (4 * h * h + 2 * h * ff) * layers
    total = sum(dense * n + 2 * 2 * n * n * h * layers for n in lengths)
    return total / len(lengths)


def branch_flops_per_mention(settings, texts: list[str]) -> float:  # noqa: ANN001
    """The English sentiment branch's FLOPs per mention of the stream (it reads the English-head texts
    only), when the analyser runs it: 0 otherwise."""
    from transformers import AutoConfig, AutoTokenizer

    from nlp.analyzer import head_lang
    from nlp.branch import CARD, BRANCH_DIR, branch_model_dir, tweet_form
    from nlp.heads import HEADS_DIR, load_head
    from nlp.langid import detect_language

    heads = Path(settings.models.heads_dir or HEADS_DIR)
    if not settings.models.english_branch or "branch" not in load_head(heads, "sentiment", "en").card:
        return 0.0
    merged = branch_model_dir(settings) / "merged"
    hyper = json.loads((BRANCH_DIR / CARD).read_text(encoding="utf-8"))["hyper"]
    max_length = hyper["max_length"]
    english = [tweet_form(t) if hyper.get("tweet_form") else t  # the form the branch reads them in
               for t in texts if head_lang(detect_language(t)) == "en"]
    if not english:
        return 0.0
    lengths = [len(ids) for ids in AutoTokenizer.from_pretrained(str(merged))(
        english, truncation=True, max_length=max_length)["input_ids"]]
    return flops_per_mention(AutoConfig.from_pretrained(str(merged)), lengths) * len(lengths) / len(texts)


def run(runtime: str, texts: list[str], settings, batch: int, repeats: int, threads: int) -> dict:  # noqa: ANN001
    from core.domain import Author, Mention
    from nlp.analyzer import Analyzer
    from nlp.runtime import load_runtime_encoder

    settings.models.runtime = runtime
    analyzer = Analyzer(settings, encoder=load_runtime_encoder(settings, threads=threads))
    mentions = [Mention(id=f"b-{i}", platform="bench", source="bench", native_id=str(i), text=t,
                        author=Author(platform="bench"), published_at="2026-11-20T12:00:00Z") for i, t in enumerate(texts)]
    analyzer.analyze(mentions[:batch])  # warm-up
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for start in range(0, len(mentions), batch):
            analyzer.analyze(mentions[start:start + batch])
        rates.append(len(mentions) / (time.perf_counter() - started))
    return {"runtime": runtime, "mentions_per_s": round(statistics.median(rates), 1), "runs": [round(r, 1) for r in rates]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="mentions in the stream")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64, help="mentions per analyse call (a worker batch)")
    parser.add_argument("--batch-tokens", type=int, default=None, help="models.batch_tokens (default: the setting's)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runtimes", default="torch,onnx,onnx-int8")
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=None, help="labeled-data folder (default: BRANDGUARD_TRAIN_DATA)")
    args = parser.parse_args()

    import torch

    from core.config import load_settings
    from nlp.encoder import load_encoder

    torch.set_num_threads(args.threads)
    settings = load_settings(args.config)
    settings.models.batch_size = 32
    if args.batch_tokens:
        settings.models.batch_tokens = args.batch_tokens
    texts = mixed_stream(args.n, args.seed, data_folder(args.data, settings))
    encoder = load_encoder(settings)
    lengths = encoder.token_lengths(texts)
    per_mention = flops_per_mention(encoder.model.config, lengths)
    branch_flops = branch_flops_per_mention(settings, texts)
    per_mention += branch_flops
    ceilings = matmul_ceiling_gflops(args.threads)
    ceiling = max(ceilings.values())
    results = []
    for runtime in args.runtimes.split(","):
        result = run(runtime, texts, settings, args.batch, args.repeats, args.threads)
        achieved = result["mentions_per_s"] * per_mention / 1e9
        result["encoder_gflops_per_s"] = round(achieved, 2)
        result["fraction_of_matmul_ceiling"] = round(achieved / ceiling, 3)
        results.append(result)
        print(json.dumps(result), flush=True)
    summary = {
        "mentions": args.n, "threads": args.threads, "batch": args.batch, "batch_tokens": settings.models.batch_tokens,
        "max_length": settings.models.max_length,
        "mean_tokens": round(statistics.mean(lengths), 1), "median_tokens": statistics.median(lengths),
        "gflop_per_mention": round(per_mention / 1e9, 3), "branch_gflop_per_mention": round(branch_flops / 1e9, 3),
        "matmul_ceiling_gflops": round(ceiling, 1),
        "matmul_ceiling_by_library": {k: round(v, 1) for k, v in ceilings.items()},
        "results": results,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
