"""A tiny Qwen2-architecture GGUF built at test time: random weights, the real Qwen2 vocabulary and merges.

The vocabulary, merges, special token ids and chat template are copied from llama.cpp's own test vocabulary
`models/ggml-vocab-qwen2.gguf` (vendored in the llama-cpp-python sdist); the weights are random, 2 layers of
width 64, so answers are nonsense but tokenization, templates, batching, metrics and errors are the real
server's. The hyper-parameter keys are those llama.cpp's qwen2 loader reads (`<arch>.block_count`,
`.embedding_length`, `.feed_forward_length`, `.attention.head_count(_kv)`, `.rope.freq_base`,
`.attention.layer_norm_rms_epsilon`, `.context_length`); `output.weight` is left out, so the loader ties it
to `token_embd.weight`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

WIDTH, LAYERS, HEADS, KV_HEADS, FFN, CONTEXT = 64, 2, 4, 2, 128, 2048


def write_tiny_qwen2(vocab_file: Path, out: Path, seed: int = 0) -> Path:
    """Write the model to `out` (a .gguf file) and return it."""
    import gguf

    reader = gguf.GGUFReader(str(vocab_file))
    writer = gguf.GGUFWriter(str(out), "qwen2")
    writer.add_name("evalclient tiny qwen2")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(WIDTH)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    _copy_tokenizer(reader, writer)
    vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    for name, shape in _tensors(vocab):
        rng = np.random.default_rng([seed, len(name)])
        data = rng.normal(0, 0.02, size=shape).astype(
            np.float16 if name == "token_embd.weight" else np.float32
        )
        if name.endswith("norm.weight"):
            data = np.ones(shape, dtype=np.float32)
        writer.add_tensor(name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def _tensors(vocab: int) -> list[tuple[str, tuple[int, ...]]]:
    head = WIDTH // HEADS
    tensors = [("token_embd.weight", (vocab, WIDTH)), ("output_norm.weight", (WIDTH,))]
    for i in range(LAYERS):
        tensors += [
            (f"blk.{i}.attn_norm.weight", (WIDTH,)),
            (f"blk.{i}.attn_q.weight", (WIDTH, WIDTH)),
            (f"blk.{i}.attn_q.bias", (WIDTH,)),
            (f"blk.{i}.attn_k.weight", (KV_HEADS * head, WIDTH)),
            (f"blk.{i}.attn_k.bias", (KV_HEADS * head,)),
            (f"blk.{i}.attn_v.weight", (KV_HEADS * head, WIDTH)),
            (f"blk.{i}.attn_v.bias", (KV_HEADS * head,)),
            (f"blk.{i}.attn_output.weight", (WIDTH, WIDTH)),
            (f"blk.{i}.ffn_norm.weight", (WIDTH,)),
            (f"blk.{i}.ffn_gate.weight", (FFN, WIDTH)),
            (f"blk.{i}.ffn_up.weight", (FFN, WIDTH)),
            (f"blk.{i}.ffn_down.weight", (WIDTH, FFN)),
        ]
    return tensors


def _copy_tokenizer(reader: object, writer: object) -> None:
    import gguf

    assert isinstance(reader, gguf.GGUFReader)
    assert isinstance(writer, gguf.GGUFWriter)
    fields = reader.fields

    def texts(key: str) -> list[str]:
        return [_text(fields[key], i) for i in fields[key].data]

    writer.add_tokenizer_model(_text(fields["tokenizer.ggml.model"]))
    writer.add_tokenizer_pre(_text(fields["tokenizer.ggml.pre"]))
    writer.add_token_list(texts("tokenizer.ggml.tokens"))
    types = fields["tokenizer.ggml.token_type"]
    writer.add_token_types([int(types.parts[i][0]) for i in types.data])
    writer.add_token_merges(texts("tokenizer.ggml.merges"))
    for key, add in (
        ("tokenizer.ggml.eos_token_id", writer.add_eos_token_id),
        ("tokenizer.ggml.bos_token_id", writer.add_bos_token_id),
        ("tokenizer.ggml.padding_token_id", writer.add_pad_token_id),
    ):
        add(int(fields[key].parts[fields[key].data[0]][0]))
    writer.add_chat_template(_text(fields["tokenizer.chat_template"]))


def _text(field: object, index: int | None = None) -> str:
    parts = field.parts  # type: ignore[attr-defined]
    position = field.data[0] if index is None else index  # type: ignore[attr-defined]
    return bytes(parts[position]).decode("utf-8")
