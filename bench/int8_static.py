"""Static int8 probe: the shipped dynamic int8 export with calibrated constant activation scales.

Dynamic int8 (``nlp.runtime.quantize_int8``) takes each activation's scale from the batch it is in,
so a mention's scores move with the mentions analysed beside it (``nlp/MODEL_CARD.md``). This probe
swaps every ``DynamicQuantizeLinear`` of the shipped int8 graph for a ``QuantizeLinear`` whose scale
and zero point are constants. The ranges come from the per-batch ranges the dynamic graph itself
computes on seeded *training* texts (never the held-out sets). ``--percentile 100`` takes the widest
range seen; lower values clip the rarest batches. The rest of the graph (``MatMulInteger``,
``QAttention``, the weights) is unchanged. The probe then prints, for dynamic and static int8, over
other seeded training texts:

* the damage, mean ``1 - cosine`` to the fp32 embedding, and the worst cosine;
* how far an embedding moves between two batchings (token budgets 512 and 64);
* the encoder's texts/s (median of three passes).

    python bench/int8_static.py                      # BRANDGUARD_TRAIN_DATA names the labeled data
    python bench/int8_static.py --write /tmp/static-int8.onnx

``--write`` keeps the static graph: copy it over ``<data_dir>/models/e5-small/onnx/model-int8.onnx``
to read the heads with ``brandguard nlp eval``, then run ``brandguard nlp prepare --force`` to
restore the shipped export. Needs ``brandguard nlp prepare`` (both exports).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def batch_ranges(dynamic_path: Path, encoder: object, texts: list[str], options: object) -> dict[str, list[tuple[float, float]]]:
    """Per ``DynamicQuantizeLinear`` node of the graph at ``dynamic_path``, the (low, high) range it
    quantised each batch of ``texts`` to (read from its scale and zero-point outputs)."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    from nlp.encoder import token_batches

    probe = onnx.load(str(dynamic_path))
    nodes = [n for n in probe.graph.node if n.op_type == "DynamicQuantizeLinear"]
    for node in nodes:
        probe.graph.output.extend([helper.make_tensor_value_info(node.output[1], onnx.TensorProto.FLOAT, None),
                                   helper.make_tensor_value_info(node.output[2], onnx.TensorProto.UINT8, None)])
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o for n in nodes for o in n.output[1:]]
    seen: dict[str, list[tuple[float, float]]] = {n.name: [] for n in nodes}
    for _, input_ids, mask in token_batches(encoder.tokenizer, texts, encoder.max_length, 32, 512):  # type: ignore[attr-defined]
        values = session.run(names, {"input_ids": input_ids, "attention_mask": mask})
        for k, node in enumerate(nodes):
            scale, zero = float(values[2 * k]), float(values[2 * k + 1])
            seen[node.name].append((-zero * scale, (255 - zero) * scale))
    return seen


def static_graph(model: object, ranges: dict[str, list[tuple[float, float]]], percentile: float) -> object:
    """``model`` with every ``DynamicQuantizeLinear`` replaced by a ``QuantizeLinear`` of constant
    scale and zero point (uint8, as the dynamic op's), named as the dynamic op's outputs were."""
    from onnx import helper, numpy_helper

    nodes = []
    for node in model.graph.node:  # type: ignore[attr-defined]
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        low = min(0.0, float(np.percentile([r[0] for r in ranges[node.name]], 100 - percentile)))
        high = max(0.0, float(np.percentile([r[1] for r in ranges[node.name]], percentile)))
        scale = (high - low) / 255.0
        zero = int(np.clip(round(-low / scale), 0, 255))
        model.graph.initializer.extend([numpy_helper.from_array(np.array(scale, np.float32), node.output[1]),  # type: ignore[attr-defined]
                                        numpy_helper.from_array(np.array(zero, np.uint8), node.output[2])])
        nodes.append(helper.make_node("QuantizeLinear", [node.input[0], node.output[1], node.output[2]],
                                      [node.output[0]], name=f"{node.name}_static"))
    del model.graph.node[:]  # type: ignore[attr-defined]
    model.graph.node.extend(nodes)  # type: ignore[attr-defined]
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibrate", type=int, default=100, help="training texts sampled per head to calibrate on")
    parser.add_argument("--measure", type=int, default=60, help="other training texts per head to measure on")
    parser.add_argument("--percentile", type=float, default=100.0, help="of the per-batch ranges (100: the widest)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=None, help="labeled-data folder (default: BRANDGUARD_TRAIN_DATA)")
    parser.add_argument("--write", type=Path, default=None, help="keep the static graph here")
    args = parser.parse_args()

    import onnx
    import onnxruntime as ort

    from core.config import load_settings
    from int8_sensitivity import head_training_samples  # the sibling script: bench/ is on sys.path when this runs as a script
    from nlp.runtime import load_onnx_encoder, onnx_path

    settings = load_settings(None)
    samples = head_training_samples(args.data, args.calibrate + args.measure, 7)
    calibrate = [text for part in samples for text in part[:args.calibrate]]
    measure = [text for part in samples for text in part[args.calibrate:]]

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    encoder = load_onnx_encoder(settings, "onnx", threads=args.threads)
    reference = encoder.embed(measure)
    dynamic_path = onnx_path(settings, "onnx-int8")
    ranges = batch_ranges(dynamic_path, encoder, calibrate, options)
    spread = [max(r[1] for r in v) / statistics.median(r[1] for r in v) for v in ranges.values()]
    print(f"{len(ranges)} dynamic quantisers calibrated on {len(calibrate)} texts; widest / median batch high: "
          f"median {statistics.median(spread):.2f}, most {max(spread):.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        static_path = args.write or Path(tmp) / "static-int8.onnx"
        onnx.save(static_graph(onnx.load(str(dynamic_path)), ranges, args.percentile), str(static_path))
        for name, path in (("dynamic int8 (shipped)", dynamic_path), (f"static int8 (p{args.percentile:g})", static_path)):
            encoder.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            rates = []
            for _ in range(3):
                started = time.perf_counter()
                vectors = encoder.embed(measure, max_tokens=512)
                rates.append(len(measure) / (time.perf_counter() - started))
            other = encoder.embed(measure, max_tokens=64)
            cosine = (vectors * reference).sum(axis=1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(reference, axis=1)
            print(f"{name:24s} damage {1 - cosine.mean():.5f}  worst cosine {cosine.min():.4f}  "
                  f"moves between batchings {np.abs(vectors - other).max():.1e}  {statistics.median(rates):.1f} texts/s", flush=True)


if __name__ == "__main__":
    main()
