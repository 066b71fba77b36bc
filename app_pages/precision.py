"""The Settings page's line on what precision a model runs in on this CPU, and why.

Kept apart from the page (which runs when imported) so that every case can be checked without
the CPU that shows it: int8 chosen with RAG_QUANTIZE, fp32/bf16 picked by the measured dtype
probe, a CPU without native bf16, the probe switched off.
"""

from __future__ import annotations

from rag.models.dtype_probe import DtypeChoice

INT8 = "int8 (ONNX Runtime dynamic int8), chosen with RAG_QUANTIZE=int8"


def cpu_choice() -> DtypeChoice | None:
    """What the dtype probe picks on this CPU (cached, else measured now); ``None`` when the CPU
    has no native bf16, where fp32 needs no measuring."""
    from rag.models.dtype_probe import cpu_dtype_choice
    from rag.models.loading import cpu_supports_bf16

    return cpu_dtype_choice() if cpu_supports_bf16() else None


def describe(running: str, choice: DtypeChoice | None) -> str:
    """One line: the dtype ``running`` (a loaded model's ``dtype``) and why it is the one running.

    ``choice`` is what the probe picks without int8 (:func:`cpu_choice`)."""
    if running == "int8":
        return f"{INT8}; without it this CPU would run {_unquantized(choice)}"
    if choice is None:
        return f"{running}: this CPU has no native bf16 instructions, so fp32 (nothing to measure)"
    detail = choice.reason + _figures(choice)
    if running == choice.dtype:
        return detail
    return (f"{running}, as the models were loaded; the probe now picks {choice.dtype} ({detail}): "
            f"Reload models to use it")


def _unquantized(choice: DtypeChoice | None) -> str:
    """The dtype without int8 and why, as the end of a sentence."""
    if choice is None:
        return "float32, as it has no native bf16 instructions (nothing to measure)"
    if choice.ratio is None:  # not measured: RAG_DTYPE_PROBE=off
        return f"{choice.dtype}, as the dtype probe is off (RAG_DTYPE_PROBE=off)"
    verdict = choice.reason.split(": ", 1)[1] if choice.reason[:6] in {"fp32: ", "bf16: "} else choice.reason
    return f"{choice.dtype}, picked by a measured probe: {verdict}{_figures(choice)}"


def _figures(choice: DtypeChoice) -> str:
    if choice.fp32_s is None or choice.bf16_s is None:
        return ""
    return (f" (probe: fp32 {choice.fp32_s * 1000:.0f} ms, bf16 {choice.bf16_s * 1000:.0f} ms; "
            f"{'cached for this machine' if choice.cached else 'measured at this start'})")
