"""Load Visualized BGE: one ``.pth`` checkpoint (both towers' weights) plus the BGE text model's folder.

BAAI publishes the weights as single files in the Hub repo ``BAAI/bge-visualized``
(``Visualized_m3.pth``: bge-m3 + EVA02-CLIP-L-14; ``Visualized_base_en_v1.5.pth``: bge-base-en-v1.5 +
EVA02-CLIP-B-16). The text model's folder (``BAAI/bge-m3`` ...) gives only the config and the
tokenizer: every weight comes from the ``.pth``. Where files come from:

* ``weights``: a ``.pth`` file; a folder holding one (and, optionally, the text model's folder as a
  sub-folder named like ``bge-m3``); or ``BAAI/bge-visualized-m3`` / ``BAAI/bge-visualized-base-en-v1.5``
  (the file is fetched from the Hub, or its cache).
* ``text_model``: a Hub id or folder; by default the one the checkpoint was trained on.

Every key the maths uses must be in the checkpoint and fit its shape; anything else in it
must be one of the parts the reference also carries but never uses (the tower's final norm and
CLIP head, ``logit_scale``, BGE's pooler). Otherwise loading fails naming the keys: random
weights are never kept.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.models.loading import (
    ModelLoadError,
    check_max_length,
    load_tokenizer,
    max_positions,
    resolve_device,
    resolve_dtype,
    resolve_model_dir,
)

HUB_REPO = "BAAI/bge-visualized"
ENV_VAR = "RAG_VISUAL_MODEL"


@dataclass(frozen=True)
class Variant:
    name: str
    filename: str
    text_model: str


VARIANTS = (
    Variant("bge-visualized-m3", "Visualized_m3.pth", "BAAI/bge-m3"),
    Variant("bge-visualized-base-en-v1.5", "Visualized_base_en_v1.5.pth", "BAAI/bge-base-en-v1.5"),
)
DEFAULT_VISUAL_MODEL = "BAAI/bge-visualized-m3"

TOWER = "model_visual.visual."
#: Keys the reference's checkpoint carries for parts its embeddings never use.
UNUSED_PREFIXES = (TOWER + "norm.", TOWER + "head.", "model_visual.logit_scale", "bge_pooler.")
_TEXT_PREFIXES = {"bge_embeddings.": "embeddings.", "bge_encoder.": "encoder."}


def _variant_by_name(name: str) -> Variant | None:
    base = name.rstrip("/").split("/")[-1].lower()
    return next((v for v in VARIANTS if base in (v.name, v.filename.lower())), None)


def resolve_weights(weights: str | os.PathLike[str]) -> tuple[Path, Variant | None]:
    """The ``.pth`` file to read and, when known, which published variant it is."""
    name = os.fspath(weights)
    path = Path(name).expanduser()
    if path.is_file():
        return path, _variant_by_name(path.name)
    if path.is_dir():
        found = sorted(path.glob("*.pth"))
        if len(found) != 1:
            what = "no .pth file" if not found else f"{len(found)} .pth files ({', '.join(p.name for p in found)})"
            raise ModelLoadError(
                f"Visualized BGE folder {path} holds {what}; expected one checkpoint such as "
                f"{' or '.join(v.filename for v in VARIANTS)}"
            )
        return found[0], _variant_by_name(found[0].name)
    variant = _variant_by_name(name)
    if variant is None or name.startswith(("/", ".", "~")) or name.lower().endswith(".pth"):
        raise ModelLoadError(
            f"Visualized BGE checkpoint {path} does not exist; set {ENV_VAR} to a .pth file (e.g. "
            f"{VARIANTS[0].filename} from the Hub repo {HUB_REPO}), a folder holding one, or one of "
            f"{', '.join('BAAI/' + v.name for v in VARIANTS)}"
        )
    return _download(variant), variant


def _download(variant: Variant) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(repo_id=HUB_REPO, filename=variant.filename))
    except LocalEntryNotFoundError as exc:
        raise ModelLoadError(
            f"{variant.filename} from {HUB_REPO} is not in the local Hugging Face cache and the Hub cannot be "
            f"reached: {exc}. Download it on a machine with internet access "
            f"(`huggingface-cli download {HUB_REPO} {variant.filename} --local-dir DIR`) and set {ENV_VAR}=DIR"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - hub errors (not found, gated, network, disk) all mean: no file
        raise ModelLoadError(f"could not fetch {variant.filename} from {HUB_REPO}: {exc}") from exc


def resolve_text_model(text_model: str | os.PathLike[str] | None, weights_file: Path, variant: Variant | None) -> Path:
    """The text model's folder: as given; else a sub-folder beside the checkpoint; else the variant's Hub id."""
    if text_model is not None:
        return resolve_model_dir(text_model, env_var="RAG_VISUAL_TEXT_MODEL")
    if variant is None:
        raise ModelLoadError(
            f"cannot tell which BGE text model {weights_file.name} was trained with; pass text_model= "
            f"(e.g. BAAI/bge-m3 for Visualized_m3.pth) or name the file like the published ones"
        )
    beside = weights_file.parent / variant.text_model.split("/")[-1]
    if (beside / "config.json").is_file():
        return beside
    return resolve_model_dir(variant.text_model, env_var="RAG_VISUAL_TEXT_MODEL")


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The state dict in ``path`` (memory-mapped: the real m3 checkpoint is several GB)."""
    import torch

    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            state = torch.load(path, map_location="cpu", weights_only=True)  # a pre-zip (legacy) file
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        raise ModelLoadError(f"cannot read Visualized BGE checkpoint {path}: {type(exc).__name__}: {exc}") from exc
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state:
        raise ModelLoadError(f"{path} does not hold a state dict (got {type(state).__name__})")
    if next(iter(state)).startswith("module."):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def split_checkpoint(state: dict[str, Any], path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(text, tower, visual_proj)`` state dicts under our module names; unknown keys are an error."""
    text: dict[str, Any] = {}
    tower: dict[str, Any] = {}
    proj: dict[str, Any] = {}
    unknown = []
    for key, value in state.items():
        prefix = next((p for p in _TEXT_PREFIXES if key.startswith(p)), None)
        if prefix is not None:
            text[_TEXT_PREFIXES[prefix] + key[len(prefix):]] = value
        elif key.startswith(TOWER) and ".attn.rope." not in key and not key.startswith(UNUSED_PREFIXES):
            tower[key[len(TOWER):]] = value  # each block's copy of the shared rope table is skipped
        elif key.startswith("visual_proj."):
            proj[key[len("visual_proj."):]] = value
        elif not key.startswith(UNUSED_PREFIXES) and ".attn.rope." not in key:
            unknown.append(key)
    if unknown:
        raise ModelLoadError(
            f"{path} has {len(unknown)} keys that are not Visualized BGE's, e.g. {sorted(unknown)[:5]}; "
            f"is it a Visualized_*.pth checkpoint?"
        )
    for what, part in (("BGE text encoder (bge_encoder.*)", text), ("EVA tower (model_visual.visual.*)", tower),
                       ("visual_proj", proj)):
        if not part:
            raise ModelLoadError(f"{path} has no {what} weights; is it a Visualized_*.pth checkpoint?")
    return text, tower, proj


#: Text-model keys a checkpoint may lack: buffers transformers rebuilds, and the unused pooler.
_TEXT_OPTIONAL = re.compile(r"(^|\.)(position_ids|token_type_ids)$|^pooler\.")


def _load_strict(module: Any, state: dict[str, Any], what: str, path: Path, optional: re.Pattern[str] | None = None) -> None:
    """Copy ``state`` into ``module``; a missing or misshapen key fails naming it."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state and not (optional and optional.search(k))]
    extra = [k for k in state if k not in expected]
    bad = [f"{k} {tuple(state[k].shape)} != {tuple(expected[k].shape)}"
           for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or extra or bad:
        raise ModelLoadError(
            f"{path}: the {what} weights do not fit: {len(missing)} missing (e.g. {sorted(missing)[:4]}), "
            f"{len(extra)} unexpected (e.g. {sorted(extra)[:4]}), {len(bad)} of another shape (e.g. {bad[:3]})"
        )
    module.load_state_dict(state, strict=False)


def load_visual_encoder(
    weights: str | os.PathLike[str] = DEFAULT_VISUAL_MODEL,
    *,
    text_model: str | os.PathLike[str] | None = None,
    device: str = "auto",
    dtype: str | None = None,
    max_length: int | None = None,
    image_batch: int | None = None,
    tokens_per_batch: int | None = None,
) -> Any:
    """Load a :class:`~rag.models.visual_bge.VisualBGE` (device and dtype rules as ``load_encoder``)."""
    import torch
    from transformers import AutoConfig, AutoModel

    from rag.models.eva_clip import EvaConfig, EvaVisionTower
    from rag.models.loading import torch_dtype
    from rag.models.visual_bge import VisualBGE

    weights_file, variant = resolve_weights(weights)
    text_folder = resolve_text_model(text_model, weights_file, variant)
    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)
    state = read_checkpoint(weights_file)
    text_state, tower_state, proj_state = split_checkpoint(state, weights_file)
    try:
        tower_cfg = EvaConfig.from_state_dict(tower_state)
    except (KeyError, ValueError) as exc:
        raise ModelLoadError(f"{weights_file}: the EVA tower's weights are incomplete or unusual: {exc}") from exc
    try:
        config = AutoConfig.from_pretrained(str(text_folder))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read the text model's config in {text_folder}: {exc}") from exc
    if config.hidden_size != tower_cfg.width:
        raise ModelLoadError(
            f"{weights_file}: EVA tower width {tower_cfg.width} != hidden size {config.hidden_size} of the text model "
            f"in {text_folder}; is text_model the one this checkpoint was trained with?"
        )
    text = _materialise(AutoModel, config)
    _load_strict(text, text_state, "BGE text", weights_file, optional=_TEXT_OPTIONAL)
    tower = EvaVisionTower(tower_cfg)
    _load_strict(tower, tower_state, "EVA tower", weights_file)
    proj = torch.nn.Linear(tower_cfg.width, config.hidden_size)
    _load_strict(proj, proj_state, "visual_proj", weights_file)
    td = torch_dtype(dtype)
    text, tower, proj = (m.to(device=device, dtype=td).eval() for m in (text, tower, proj))
    return VisualBGE(
        name=os.fspath(weights),
        weights_file=weights_file,
        text_folder=text_folder,
        text_model=text,
        tower=tower,
        visual_proj=proj,
        tokenizer=load_tokenizer(text_folder),
        device=device,
        dtype=dtype,
        max_length=check_max_length(max_length, max_positions(config), text_folder),
        image_batch=image_batch,
        tokens_per_batch=tokens_per_batch,
    )


def _materialise(auto_model: Any, config: Any) -> Any:
    """The text model without its pooler (never used), built on CPU in fp32."""
    try:
        return auto_model.from_config(config, add_pooling_layer=False)
    except TypeError:  # a family without the option: its pooler stays unused
        return auto_model.from_config(config)
