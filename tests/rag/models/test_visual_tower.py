"""EVA02 tower shape inference, rotary tables and the PIL preprocessing, without the reference."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def test_config_read_from_a_full_size_state_dict() -> None:
    from rag.models.eva_clip import EvaVisionTower, EvaConfig
    from rag.models.visual_testing import FULL_TOWER

    with torch.device("meta"):
        state = EvaVisionTower(FULL_TOWER).state_dict()
    cfg = EvaConfig.from_state_dict(state)
    assert cfg == FULL_TOWER
    assert (cfg.grid, cfg.num_patches, cfg.head_dim, cfg.mlp_hidden) == (16, 256, 64, 2730)


def test_config_names_what_is_wrong() -> None:
    from rag.models.eva_clip import EvaConfig, EvaVisionTower
    from rag.models.visual_testing import TINY_TOWER

    state = dict(EvaVisionTower(TINY_TOWER).state_dict())
    state["pos_embed"] = torch.zeros(1, 18, TINY_TOWER.width)
    with pytest.raises(ValueError, match="pos_embed has 18 rows"):
        EvaConfig.from_state_dict(state)
    del state["rope.freqs_cos"]
    state["pos_embed"] = torch.zeros(1, 17, TINY_TOWER.width)
    with pytest.raises(KeyError, match="rope.freqs_cos"):
        EvaConfig.from_state_dict(state)


def test_rotary_tables_rotate_pairs_by_row_then_column() -> None:
    from rag.models.eva_clip import rope_tables

    cos, sin = rope_tables(head_dim=8, grid=2, pt_grid=16)
    assert cos.shape == sin.shape == (4, 8)
    # patch (0, 0) has angle 0 everywhere; channels come in equal pairs
    assert torch.equal(cos[0], torch.ones(8)) and torch.equal(sin[0], torch.zeros(8))
    assert torch.equal(cos[:, 0::2], cos[:, 1::2])
    # first half follows the row (patches 0,1 share row 0), second half the column
    assert torch.equal(cos[0, :4], cos[1, :4]) and torch.equal(cos[0, 4:], cos[2, 4:])
    assert not torch.equal(cos[0, :4], cos[2, :4])


def test_tower_keeps_cls_out_of_the_rotation_and_checks_size() -> None:
    from rag.models.eva_clip import EvaVisionTower
    from rag.models.visual_testing import TINY_TOWER

    tower = EvaVisionTower(TINY_TOWER).eval()
    with torch.no_grad():
        out = tower(torch.randn(2, 3, 56, 56))
        assert out.shape == (2, 17, TINY_TOWER.width)
        x = torch.randn(1, 2, 17, TINY_TOWER.head_dim)
        assert torch.equal(tower.rope(x)[:, :, 0], x[:, :, 0])
        with pytest.raises(ValueError, match="56x56"):
            tower(torch.randn(1, 3, 64, 64))


def test_preprocess_resizes_the_short_side_and_crops_the_centre() -> None:
    from PIL import Image

    from rag.models.visual_preprocess import CLIP_MEAN, CLIP_STD, preprocess

    img = Image.new("RGB", (300, 100), "white")
    img.paste((0, 0, 0), (0, 0, 100, 100))  # the left third black: cropped away by the centre crop
    out = preprocess(img, 56)
    assert out.shape == (3, 56, 56) and out.dtype == np.float32
    white = (np.float32(1.0) - np.asarray(CLIP_MEAN, np.float32)) / np.asarray(CLIP_STD, np.float32)
    assert np.allclose(out[:, 28, 28], white)
    gray = preprocess(Image.new("L", (20, 90), 0), 56)  # upscaled, grey to RGB
    assert np.allclose(gray[:, 0, 0], -np.asarray(CLIP_MEAN, np.float32) / np.asarray(CLIP_STD, np.float32))


def test_legacy_pth_format_is_read(tmp_path) -> None:
    from rag.models.visual_loading import read_checkpoint

    torch.save({"visual_proj.bias": torch.ones(3)}, tmp_path / "old.pth", _use_new_zipfile_serialization=False)
    assert torch.equal(read_checkpoint(tmp_path / "old.pth")["visual_proj.bias"], torch.ones(3))
