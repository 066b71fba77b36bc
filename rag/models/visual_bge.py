"""Visualized BGE: text, image and image+text ("composed") embeddings in one BGE vector space.

The maths is the reference's (``Visualized_BGE`` in FlagEmbedding's ``research/visual_bge``,
parity-tested to 1e-5 in fp32 in tests/comparison):

* text: the BGE text encoder's normalised CLS vector (token types 0, the model's own positions);
* image+text: the EVA02 tower's patch tokens (its CLS dropped) go through ``visual_proj``, get BGE
  position embeddings 1..N and BGE's embedding LayerNorm, and are placed between the text's CLS and
  the rest of its tokens; the text's CLS keeps position 0 and its other tokens take positions
  N+1, N+2, ... The BGE encoder runs over the whole sequence; the output is its normalised CLS.
* image only: the same with an empty text (just CLS and the end token).

Load with :func:`rag.models.visual_loading.load_visual_encoder`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.models.batching import pad_batch, plan_batches
from rag.models.visual_preprocess import ImageInput, preprocess_batch

#: Images per forward pass on CPU: EVA02-L-14 at 224 px is about 80 GFLOP per image.
DEFAULT_IMAGE_BATCH = {"cpu": 4, "cuda": 32}
DEFAULT_TOKENS_PER_BATCH = {"cpu": 4096, "cuda": 32768}


class VisualBGE:
    """A loaded Visualized BGE model (text encoder + EVA02 tower + ``visual_proj``)."""

    def __init__(
        self,
        *,
        name: str,
        weights_file: Path,
        text_folder: Path,
        text_model: Any,
        tower: Any,
        visual_proj: Any,
        tokenizer: Any,
        device: str,
        dtype: str,
        max_length: int,
        image_batch: int | None = None,
        tokens_per_batch: int | None = None,
    ) -> None:
        self.name = name
        self.weights_file = weights_file
        self.text_folder = text_folder
        self.embeddings = text_model.embeddings
        self.encoder = text_model.encoder
        self.text_model = text_model
        self.tower = tower
        self.visual_proj = visual_proj
        self.tokenizer = tokenizer
        self.device = device
        self.dtype = dtype
        self.dim = int(text_model.config.hidden_size)
        self.image_size = int(tower.config.image_size)
        self.image_tokens = int(tower.config.num_patches)
        #: longest text alone (tokens, special ones included)
        self.max_length = max_length
        #: longest text beside an image: the position table also holds the image's tokens
        self.max_composed_length = int(text_model.config.max_position_embeddings) - self.image_tokens
        kind = "cpu" if device == "cpu" else "cuda"
        self.image_batch = image_batch or DEFAULT_IMAGE_BATCH[kind]
        self.tokens_per_batch = tokens_per_batch or DEFAULT_TOKENS_PER_BATCH[kind]
        self._pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def __repr__(self) -> str:
        return (
            f"VisualBGE(name={self.name!r}, dim={self.dim}, image_size={self.image_size}, "
            f"image_tokens={self.image_tokens}, device={self.device!r}, dtype={self.dtype!r})"
        )

    # -- public -------------------------------------------------------------------------------
    def encode_text(self, texts: Sequence[str], *, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """``[n, dim]`` float32 unit vectors of texts alone (queries, captions)."""
        rows = self._tokenize(texts, self.max_length)
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        import torch

        done = 0
        with torch.inference_mode():
            for batch in plan_batches([len(r) for r in rows], max_tokens=self.tokens_per_batch):
                ids, mask = (t.to(self.device) for t in pad_batch([rows[i] for i in batch], self._pad_id))
                hidden = self.embeddings(input_ids=ids, token_type_ids=torch.zeros_like(ids))
                out[batch] = self._cls(self._run_encoder(hidden, mask))
                done += len(batch)
                if progress is not None:
                    progress(done, len(rows))
        return out

    def encode_images(
        self, images: Sequence[ImageInput], *, progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """``[n, dim]`` float32 unit vectors of images alone (the reference's empty-text prompt)."""
        return self.encode_composed(images, [""] * len(images), progress=progress)

    def encode_composed(
        self,
        images: Sequence[ImageInput],
        texts: Sequence[str],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """``[n, dim]`` float32 unit vectors of image+text pairs (an image item with its caption)."""
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not a single str (wrap it in a list)")
        if len(images) != len(texts):
            raise ValueError(f"got {len(images)} images but {len(texts)} texts; pass one text per image ('' for none)")
        rows = self._tokenize(texts, self.max_composed_length)
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        import torch

        done = 0
        budget = max(self.tokens_per_batch, self.image_batch * (self.image_tokens + 2))
        lengths = [self.image_tokens + len(r) for r in rows]
        with torch.inference_mode():
            for batch in plan_batches(lengths, max_tokens=budget, max_batch=self.image_batch):
                pixels = torch.from_numpy(preprocess_batch([images[i] for i in batch], self.image_size))
                ids, mask = (t.to(self.device) for t in pad_batch([rows[i] for i in batch], self._pad_id))
                out[batch] = self._composed(pixels.to(self.device), ids, mask)
                done += len(batch)
                if progress is not None:
                    progress(done, len(rows))
        return out

    # -- maths --------------------------------------------------------------------------------
    def image_tokens_of(self, pixels: Any) -> Any:
        """Projected, position-embedded, LayerNormed patch tokens ``[B, N, dim]`` (CLS of the tower dropped)."""
        import torch

        tokens = self.visual_proj(self.tower(pixels.to(self._torch_dtype()))[:, 1:])
        positions = torch.arange(1, 1 + tokens.shape[1], device=tokens.device)
        return self.embeddings.LayerNorm(tokens + self.embeddings.position_embeddings(positions))

    def _composed(self, pixels: Any, ids: Any, mask: Any) -> np.ndarray:
        import torch

        image = self.image_tokens_of(pixels)
        n, length = image.shape[1], ids.shape[1]
        positions = torch.cat(
            (torch.zeros(1, dtype=torch.long, device=ids.device), torch.arange(n + 1, n + length, device=ids.device))
        )
        text = self.embeddings(input_ids=ids, position_ids=positions, token_type_ids=torch.zeros_like(ids))
        hidden = torch.cat((text[:, :1], image, text[:, 1:]), dim=1)
        full_mask = torch.cat((torch.ones(ids.shape[0], n, dtype=mask.dtype, device=mask.device), mask), dim=1)
        return self._cls(self._run_encoder(hidden, full_mask))

    def _run_encoder(self, hidden: Any, mask: Any) -> Any:
        """The BGE encoder with an additive padding mask, as the reference builds it."""
        import torch

        additive = (1.0 - mask[:, None, None, :].to(torch.float16)) * torch.finfo(torch.float16).min
        return self.encoder(hidden, attention_mask=additive.to(hidden.dtype))[0]

    @staticmethod
    def _cls(hidden: Any) -> np.ndarray:
        import torch.nn.functional as F

        return F.normalize(hidden[:, 0].float(), dim=-1).cpu().numpy()

    def _tokenize(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not a single str (wrap it in a list)")
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"texts must be strings, got {type(t).__name__}")
        if not texts:
            return []
        enc = self.tokenizer(
            list(texts), truncation=True, max_length=max_length, add_special_tokens=True,
            return_attention_mask=False, return_token_type_ids=False,
        )
        return enc["input_ids"]

    def _torch_dtype(self) -> Any:
        from rag.models.loading import torch_dtype

        return torch_dtype(self.dtype)
