"""Dense-only families: BGE v1 (CLS pooling, query instruction) and sentence-transformers folders.

Sentence-transformers folders are read with plain json (``modules.json``, ``1_Pooling/config.json``,
``sentence_bert_config.json``) so the library itself is never imported at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.models.encoder import Encoded, Encoder
from rag.models.loading import ModelLoadError, read_json

BGE_V1_QUERY_INSTRUCTION_EN = "Represent this sentence for searching relevant passages: "
BGE_V1_QUERY_INSTRUCTION_ZH = "为这个句子生成表示以用于检索相关文章："
POOLINGS = ("cls", "mean", "max")

_ST_TRANSFORMER = "sentence_transformers.models.Transformer"
_ST_POOLING = "sentence_transformers.models.Pooling"
_ST_NORMALIZE = "sentence_transformers.models.Normalize"


def bge_v1_query_instruction(name: str) -> str:
    """The Chinese instruction for models whose id or path mentions "zh", else the English one."""
    return BGE_V1_QUERY_INSTRUCTION_ZH if "zh" in name.lower() else BGE_V1_QUERY_INSTRUCTION_EN


@dataclass(frozen=True)
class SentenceTransformersLayout:
    """What a sentence-transformers folder's json files say about running it."""

    transformer_folder: Path
    pooling: str
    normalize: bool
    dim: int | None
    max_seq_length: int | None
    lowercase: bool
    query_prompt: str


def read_sentence_transformers(folder: Path) -> SentenceTransformersLayout:
    """Parse ``modules.json`` and the module configs; unsupported modules are an error naming them."""
    modules = read_json(folder / "modules.json")
    if not isinstance(modules, list):
        raise ModelLoadError(f"{folder / 'modules.json'} should be a list of modules")
    transformer_folder, pooling, normalize, dim = folder, None, False, None
    for module in sorted(modules, key=lambda m: int(m.get("idx", 0))):
        kind, sub = module.get("type", ""), module.get("path", "")
        if kind == _ST_TRANSFORMER:
            transformer_folder = folder / sub if sub else folder
        elif kind == _ST_POOLING:
            pooling, dim = _read_pooling(folder / sub / "config.json")
        elif kind == _ST_NORMALIZE:
            normalize = True
        else:
            raise ModelLoadError(
                f"{folder / 'modules.json'} lists module {kind!r} ({sub}); only Transformer, Pooling and "
                f"Normalize are supported"
            )
    if pooling is None:
        raise ModelLoadError(f"{folder / 'modules.json'} has no Pooling module")
    bert_config = transformer_folder / "sentence_bert_config.json"
    if not bert_config.is_file():
        bert_config = folder / "sentence_bert_config.json"
    st = read_json(bert_config) if bert_config.is_file() else {}
    prompts_file = folder / "config_sentence_transformers.json"
    prompts = (read_json(prompts_file).get("prompts") or {}) if prompts_file.is_file() else {}
    return SentenceTransformersLayout(
        transformer_folder=transformer_folder,
        pooling=pooling,
        normalize=normalize,
        dim=dim,
        max_seq_length=st.get("max_seq_length"),
        lowercase=bool(st.get("do_lower_case", False)),
        query_prompt=str(prompts.get("query", "") or ""),
    )


def _read_pooling(path: Path) -> tuple[str, int | None]:
    config = read_json(path)
    mode = config.get("pooling_mode")
    if isinstance(mode, str):
        modes = [mode.removesuffix("_token").removesuffix("_tokens")]
    else:
        modes = [
            name
            for key, name in (
                ("pooling_mode_cls_token", "cls"),
                ("pooling_mode_mean_tokens", "mean"),
                ("pooling_mode_max_tokens", "max"),
                ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len"),
                ("pooling_mode_weightedmean_tokens", "weightedmean"),
                ("pooling_mode_lasttoken", "lasttoken"),
            )
            if config.get(key)
        ]
    if len(modes) != 1 or modes[0] not in POOLINGS:
        raise ModelLoadError(f"{path}: pooling {modes} is not supported; exactly one of {POOLINGS} is")
    return modes[0], config.get("word_embedding_dimension")


class DenseEncoder(Encoder):
    """One pooled vector per text: ``cls``, ``mean`` or ``max`` over real tokens, optionally L2-normalised."""

    def __init__(self, *, family: str, pooling: str, normalize: bool, lowercase: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.family = family
        self.pooling = pooling
        self.normalize = normalize
        self.lowercase = lowercase

    def _prepare(self, text: str, query: bool) -> str:
        text = super()._prepare(text, query)
        return text.lower() if self.lowercase else text

    def _emit(self, batch: list[int], hidden: Any, ids: Any, mask: Any, out: Encoded) -> None:
        import torch.nn.functional as F

        h = hidden.float()
        m = mask.unsqueeze(-1).to(h.dtype)
        if self.pooling == "cls":
            vec = h[:, 0]
        elif self.pooling == "mean":
            vec = (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
        else:
            vec = h.masked_fill(m == 0, -1e9).max(dim=1).values
        if self.normalize:
            vec = F.normalize(vec, dim=-1)
        out.dense[batch] = vec.cpu().numpy()
