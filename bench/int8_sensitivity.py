"""Which MatMuls of the encoder suffer most from dynamic int8: quantise one group at a time.

For each group (a projection type across all layers, or one whole layer) only that group is
quantised (per-channel, like ``nlp.runtime.export_onnx``); the damage is the mean and worst
``1 - cosine`` to the fp32 embedding over seeded *training* texts (never the held-out sets).
``--exclude`` instead quantises everything except nodes matching the given regex, to check an
exclusion set. ``nlp.runtime.INT8_EXCLUDE`` was chosen with this script.

    python bench/int8_sensitivity.py
    python bench/int8_sensitivity.py --exclude 'layer\\.\\d+/output/dense/MatMul$'

Needs ``brandguard nlp prepare`` (the fp32 ONNX export).
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
from pathlib import Path

KINDS = ("attention/self/query", "attention/self/key", "attention/self/value", "attention/output/dense",
         "intermediate/dense", "/output/dense")
FUSED = re.compile(r"^Attention_(\d+)$")  # the fused export's attention: query, key and value in one op per layer


def kind_of(name: str) -> str:
    if FUSED.match(name):
        return "attention/query+key+value (fused)"
    for kind in KINDS:
        if kind in name:
            return kind
    return "other"


def head_training_samples(data: Path | None, n: int, seed: int) -> list[list[str]]:
    """Per training corpus (``nlp.corpora.HEADS``), ``n`` seeded *training* texts (never the
    held-out sets) as the encoder reads them; ``data`` as ``bench_nlp.data_folder`` takes it."""
    from bench_nlp import data_folder  # the sibling script: bench/ is on sys.path when this runs as a script
    from core.config import load_settings
    from core.textnorm import normalize_persian
    from nlp.corpora import HEADS, build_corpora

    settings = load_settings(None)
    corpora = build_corpora(data_folder(data, settings), settings.data_dir / "train-extra", 13)
    rng = random.Random(seed)
    return [[normalize_persian(e.text) for e in rng.sample(corpora[key].train, n)] for key in HEADS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-head", type=int, default=60, help="training texts sampled per head")
    parser.add_argument("--exclude", default=None, help="regex: quantise all but the matching MatMuls")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=None, help="labeled-data folder (default: BRANDGUARD_TRAIN_DATA)")
    args = parser.parse_args()

    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from core.config import load_settings
    from nlp.runtime import load_onnx_encoder, onnx_path

    settings = load_settings(None)
    texts = [text for part in head_training_samples(args.data, args.per_head, 5) for text in part]
    fp32_path = onnx_path(settings, "onnx")
    encoder = load_onnx_encoder(settings, "onnx", threads=args.threads)
    reference = encoder.embed(texts)
    graph = onnx.load(str(fp32_path), load_external_data=False).graph
    weights = {i.name for i in graph.initializer}
    matmuls = [n.name for n in graph.node if n.op_type in ("MatMul", "Attention") and any(x in weights for x in n.input)]
    groups: dict[str, list[str]] = {}
    if args.exclude:
        groups["all but " + args.exclude] = [n for n in matmuls if not re.search(args.exclude, n)]
    else:
        for name in matmuls:
            groups.setdefault(f"type {kind_of(name)}", []).append(name)
            layer = re.search(r"layer\.(\d+)/", name) or FUSED.match(name)
            groups.setdefault(f"layer {layer.group(1) if layer else '-'}", []).append(name)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    with tempfile.TemporaryDirectory() as tmp:
        quantized = Path(tmp) / "q.onnx"
        for group, nodes in groups.items():
            quantize_dynamic(str(fp32_path), str(quantized), per_channel=True, weight_type=QuantType.QInt8,
                             op_types_to_quantize=["MatMul", "Attention"], nodes_to_quantize=nodes,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            encoder.session = ort.InferenceSession(str(quantized), options, providers=["CPUExecutionProvider"])
            cosine = (encoder.embed(texts) * reference).sum(axis=1)
            print(f"{group:40s} {len(nodes):3d} MatMuls  mean damage {1 - cosine.mean():.5f}  worst cosine {cosine.min():.4f}",
                  flush=True)


if __name__ == "__main__":
    main()
