#!/usr/bin/env python3
"""Inputs of scripts/bench-embed.sh, made locally without torch or any hub:

  texts   OUT.json      the bench texts: reviews of the Women's Clothing parquet as the trainer reads
                        them (`"<title>. <review text>"`, rows without text or labels skipped), the
                        first 800 (the texts the minilm bundles' vocabulary was trimmed to), every 4th
  onnx    MODEL_DIR OUT_DIR   all-MiniLM-L6-v2 as an ONNX graph written here from its safetensors
                        (BERT: embeddings, 6 post-LN layers, GELU-erf; inputs input_ids, attention_mask,
                        token_type_ids; output last_hidden_state), checked against onnxruntime, then
                        int8 dynamic quantization per channel (onnxruntime.quantization), laid out as
                        Transformers.js reads a local model: OUT_DIR/{config,tokenizer,tokenizer_config}.json,
                        OUT_DIR/onnx/model.onnx and model_quantized.onnx
"""
import json
import math
import pathlib
import shutil
import sys

import numpy as np


def texts(parquet, out, first=800, every=4):
    import pyarrow.parquet as pq

    table = pq.read_table(parquet).to_pylist()
    picked = []
    for row in table:
        body = (row.get("Review Text") or "").strip()
        if not body:
            continue
        try:
            rating, rec = float(row["Rating"]), float(row["Recommended IND"])
        except (TypeError, ValueError, KeyError):
            continue
        if not (1 <= rating <= 5) or rec not in (0.0, 1.0):
            continue
        title = (row.get("Title") or "").strip()
        picked.append(f"{title}. {body}" if title else body)
        if len(picked) == first:
            break
    chosen = picked[::every]
    pathlib.Path(out).write_text(json.dumps(chosen, ensure_ascii=False, indent=0) + "\n")
    print(f"{len(chosen)} texts (of the first {len(picked)} reviews) -> {out}")


def build_graph(weights, cfg):
    from onnx import TensorProto, helper, numpy_helper

    h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d, eps = h // heads, cfg.get("layer_norm_eps", 1e-12)
    nodes, inits = [], []
    counter = [0]

    def name(prefix):
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def const(value, prefix="c"):
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(value), n))
        return n

    def op(kind, inputs, **attrs):
        out = name(kind.lower())
        nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def w(key, transpose=False):
        a = weights[key].astype(np.float32)
        return const(np.ascontiguousarray(a.T) if transpose else a, key.replace(".", "_"))

    def linear(x, prefix):
        return op("Add", [op("MatMul", [x, w(prefix + ".weight", True)]), w(prefix + ".bias")])

    def layer_norm(x, prefix):
        return op("LayerNormalization", [x, w(prefix + ".weight"), w(prefix + ".bias")], axis=-1, epsilon=eps)

    # Embeddings: word + position (0..seq) + token type, layer-normalised.
    ids_shape = op("Shape", ["input_ids"])
    seq = op("Gather", [ids_shape, const(np.array(1, dtype=np.int64))], axis=0)
    positions = op("Unsqueeze", [op("Range", [const(np.array(0, dtype=np.int64)), seq, const(np.array(1, dtype=np.int64))]),
                                 const(np.array([0], dtype=np.int64))])
    x = op("Add", [op("Gather", [w("embeddings.word_embeddings.weight"), "input_ids"], axis=0),
                   op("Gather", [w("embeddings.position_embeddings.weight"), positions], axis=0)])
    x = op("Add", [x, op("Gather", [w("embeddings.token_type_embeddings.weight"), "token_type_ids"], axis=0)])
    x = layer_norm(x, "embeddings.LayerNorm")
    # Additive attention bias (batch, 1, 1, seq): 0 where attended, a large negative at padding.
    mask = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    bias = op("Mul", [op("Sub", [const(np.array(1.0, dtype=np.float32)), mask]), const(np.array(-1e9, dtype=np.float32))])
    bias = op("Unsqueeze", [bias, const(np.array([1, 2], dtype=np.int64))])
    split_shape = const(np.array([0, 0, heads, d], dtype=np.int64))
    merge_shape = const(np.array([0, 0, h], dtype=np.int64))
    scale = const(np.array(1.0 / math.sqrt(d), dtype=np.float32))
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        heads_of = lambda t, perm: op("Transpose", [op("Reshape", [t, split_shape])], perm=perm)
        q = heads_of(linear(x, p + "attention.self.query"), [0, 2, 1, 3])
        k = heads_of(linear(x, p + "attention.self.key"), [0, 2, 3, 1])
        v = heads_of(linear(x, p + "attention.self.value"), [0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), scale]), bias])
        ctx = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        ctx = op("Reshape", [op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_shape])
        x = layer_norm(op("Add", [linear(ctx, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")
        inter = linear(x, p + "intermediate.dense")
        gelu = op("Mul", [op("Mul", [inter, const(np.array(0.5, dtype=np.float32))]),
                          op("Add", [op("Erf", [op("Div", [inter, const(np.array(math.sqrt(2.0), dtype=np.float32))])]),
                                     const(np.array(1.0, dtype=np.float32))])])
        x = layer_norm(op("Add", [linear(gelu, p + "output.dense"), x]), p + "output.LayerNorm")
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="last_hidden_state"))
    dims = ["batch_size", "sequence_length"]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, dims + [h])]
    graph = helper.make_graph(nodes, "all-MiniLM-L6-v2", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edgerec bench-embed-prep")
    model.ir_version = 8
    return model


def onnx_export(model_dir, out_dir):
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from safetensors.numpy import load_file

    model_dir, out_dir = pathlib.Path(model_dir), pathlib.Path(out_dir)
    (out_dir / "onnx").mkdir(parents=True, exist_ok=True)
    cfg = json.loads((model_dir / "config.json").read_text())
    weights = {k.removeprefix("bert."): v for k, v in load_file(model_dir / "model.safetensors").items()}
    f32_path, q8_path = out_dir / "onnx" / "model.onnx", out_dir / "onnx" / "model_quantized.onnx"
    model = build_graph(weights, cfg)
    onnx.checker.check_model(model)
    onnx.save(model, f32_path)
    quantize_dynamic(str(f32_path), str(q8_path), per_channel=True, weight_type=QuantType.QInt8)
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (model_dir / f).exists():
            shutil.copy(model_dir / f, out_dir / f)
    # A numeric check of the graph: a padded batch through onnxruntime, mean-pooled, against a
    # plain numpy forward pass of the same weights.
    ids = np.array([[101, 2023, 4377, 2003, 2200, 3835, 1012, 102], [101, 2146, 2235, 102, 0, 0, 0, 0]], dtype=np.int64)
    att = (ids != 0).astype(np.int64)
    feeds = {"input_ids": ids, "attention_mask": att, "token_type_ids": np.zeros_like(ids)}
    got = ort.InferenceSession(str(f32_path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    want = numpy_forward(weights, cfg, ids, att)
    m = att[..., None]
    diff = np.abs((got * m) - (want * m)).max()
    print(f"ONNX f32 graph vs numpy forward: max difference {diff:.2e}")
    assert diff < 1e-3, diff
    q = ort.InferenceSession(str(q8_path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    pool = lambda hs: ((hs * m).sum(1) / m.sum(1)) / np.linalg.norm((hs * m).sum(1) / m.sum(1), axis=1, keepdims=True)
    print(f"int8 (dynamic, per channel) cosine to f32: {(pool(q) * pool(got)).sum(1)}")
    print(f"wrote {f32_path} ({f32_path.stat().st_size:,} bytes), {q8_path} ({q8_path.stat().st_size:,} bytes)")


def numpy_forward(wt, cfg, ids, att):
    from math import erf

    h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d, eps = h // heads, cfg.get("layer_norm_eps", 1e-12)
    verf = np.vectorize(erf)

    def ln(x, p):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * wt[p + ".weight"] + wt[p + ".bias"]

    lin = lambda x, p: x @ wt[p + ".weight"].T + wt[p + ".bias"]
    b, s = ids.shape
    x = wt["embeddings.word_embeddings.weight"][ids] + wt["embeddings.position_embeddings.weight"][np.arange(s)][None] \
        + wt["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, "embeddings.LayerNorm")
    bias = ((1.0 - att) * -1e9)[:, None, None, :]
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        split = lambda t: t.reshape(b, s, heads, d).transpose(0, 2, 1, 3)
        q, k, v = (split(lin(x, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
        sc = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias
        sc = np.exp(sc - sc.max(-1, keepdims=True))
        ctx = ((sc / sc.sum(-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(b, s, h)
        x = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        inter = lin(x, p + "intermediate.dense")
        inter = 0.5 * inter * (1 + verf(inter / math.sqrt(2)))
        x = ln(lin(inter, p + "output.dense") + x, p + "output.LayerNorm")
    return x


if __name__ == "__main__":
    what, *args = sys.argv[1:]
    {"texts": texts, "onnx": onnx_export}[what](*args)
