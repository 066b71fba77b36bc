"""Helpers for the answer tests: contract-like hits, fake-server settings, a tiny chat model."""

from __future__ import annotations

from pathlib import Path

from rag.answer import LLMOptions
from rag.config import Settings
from rag.documents import StoredChunk
from rag.retrieve.hits import Hit
from tests.fake_openai_server import DEFAULT_MODEL, FakeOpenAIServer

API_KEY = "sk-test-0123456789abcdef"
#: fast failure for error tests: short timeout, no retries
FAST = LLMOptions(timeout_s=1.0, max_retries=0, max_tokens=256)


def openai_settings(server: FakeOpenAIServer, **overrides: object) -> Settings:
    values: dict[str, object] = dict(llm_base_url=server.base_url, llm_model=DEFAULT_MODEL, llm_api_key=API_KEY)
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def make_hit(
    text: str,
    *,
    doc: str = "MSA.pdf",
    clause: str | None = None,
    heading: tuple[str, ...] = (),
    pages: tuple[int, int] | None = (1, 1),
    score: float = 0.5,
    via: str = "search",
    chunk_id: int = 1,
    definitions: list[tuple[str, str]] | None = None,
    context: list[tuple[str, str]] | None = None,
) -> Hit:
    chunk = StoredChunk(chunk_id, 1, doc, 0, len(text), text, clause, heading, pages)
    return Hit(chunk, score, {"fused": score}, via=via, context=context or [], definitions=definitions or [])


TERMINATION = (
    "12.3 Termination for Convenience. Either party may terminate this Agreement for convenience upon "
    "ninety (90) days' prior written notice to the other party. The Customer shall pay all Fees accrued "
    "up to the effective date of termination."
)
GOVERNING_LAW = (
    "18. Governing Law. This Agreement shall be governed by and construed in accordance with the laws of "
    "the State of New York, without regard to its conflict of laws principles. Each party submits to the "
    "exclusive jurisdiction of the courts located in New York County."
)
CONFIDENTIALITY = (
    "9.1 The Receiving Party shall hold the Confidential Information in strict confidence and shall not "
    "disclose it to any third party except to its employees who need to know it. These obligations "
    "survive for five (5) years after termination of this Agreement."
)
CONFIDENTIAL_INFORMATION_DEF = (
    '"Confidential Information" means all non-public information disclosed by a party, whether oral or written.'
)


def contract_hits() -> list[Hit]:
    """Three passages of a services agreement, as retrieval might rank them for a termination question."""
    return [
        make_hit(
            TERMINATION,
            clause="12.3",
            heading=("12 Term and Termination", "12.3 Termination for Convenience"),
            pages=(7, 7),
            score=0.91,
            chunk_id=1,
        ),
        make_hit(
            CONFIDENTIALITY,
            clause="9.1",
            heading=("9 Confidentiality",),
            pages=(5, 6),
            score=0.55,
            chunk_id=2,
            definitions=[("Confidential Information", CONFIDENTIAL_INFORMATION_DEF)],
        ),
        make_hit(
            GOVERNING_LAW,
            doc="MSA.pdf",
            clause="18",
            heading=("18 Governing Law",),
            pages=(11, 11),
            score=0.42,
            chunk_id=3,
        ),
    ]


# -- a tiny, randomly initialised chat model ------------------------------------------------

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]


def build_tiny_chat_model(path: Path) -> Path:
    """A seeded 2-layer Llama with a byte-level BPE tokenizer trained here and a ChatML template.

    It never emits its special tokens, so generation always runs to ``max_tokens``.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = [TERMINATION, GOVERNING_LAW, CONFIDENTIALITY, CONFIDENTIAL_INFORMATION_DEF, CHAT_TEMPLATE] * 3
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(path)

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        bos_token_id=None,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    # never end by itself: answers run to max_tokens, so finish_reason is "length", not chance
    model.generation_config.suppress_tokens = fast.convert_tokens_to_ids(SPECIAL_TOKENS)
    model.save_pretrained(path)
    return path
