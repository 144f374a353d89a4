"""The engine images evalclient pins, and the CUDA version each needs from the host's NVIDIA driver.

Facts from the images' own recipes and release notes (checked November 2026):
- TGI 3.3.7 (December 2025) is the last release; upstream is in maintenance mode and recommends vLLM or
  SGLang. Its image is built on nvidia/cuda:12.4.0-base.
- vLLM: since v0.20.0 the unsuffixed tag is the CUDA 13 build (CUDA 13.0.x base) and `-cu129` tags are the
  CUDA 12.9 builds; v0.33.0 is the newest release, v0.21.0-cu129 a CUDA 12 build known to be published.
- SGLang: `lmsysorg/sglang:vX` is the CUDA 13.0 build; its CUDA 12 images end at v0.5.19-cu129.
- llama.cpp (ggml-org/llama.cpp at build b11312, commit 0c1e57098): .github/workflows/docker.yml publishes
  `ghcr.io/ggml-org/llama.cpp:server-cuda-<tag>` (tag `b<git rev-list --count HEAD>`,
  .github/actions/get-tag-name) from .devops/cuda.Dockerfile with CUDA_VERSION=12.8.1 (the Dockerfile's
  `ARG CUDA_VERSION=12.8.1` too; `server-cuda13-<tag>` is the 13.4.1 build).
The minimum drivers are those of the CUDA toolkit release notes (Linux, x86_64).
"""

from __future__ import annotations

from dataclasses import dataclass

CudaVersion = tuple[int, int]


@dataclass(frozen=True)
class ImagePin:
    """One engine image and the CUDA version (and so the NVIDIA driver) it needs."""

    engine: str
    image: str
    version: str
    """The engine release the image is built from (its entry in engines/capabilities.py)."""
    cuda: CudaVersion
    min_driver: str
    note: str = ""

    @property
    def cuda_text(self) -> str:
        return cuda_text(self.cuda)


TGI_PIN = ImagePin(
    "tgi",
    "ghcr.io/huggingface/text-generation-inference:3.3.7",
    "3.3.7",
    (12, 4),
    "550.54",
    "last TGI release; TGI is in maintenance mode upstream (use vLLM or SGLang for new work)",
)
VLLM_PIN = ImagePin("vllm", "vllm/vllm-openai:v0.33.0", "0.33.0", (13, 0), "580.65", "CUDA 13 build")
VLLM_CUDA12_PIN = ImagePin(
    "vllm",
    "vllm/vllm-openai:v0.21.0-cu129",
    "0.21.0",
    (12, 9),
    "575.51",
    "a CUDA 12 build, for older drivers; the last pinned vLLM that serves Qwen v1 (QWenLMHeadModel)",
)
SGLANG_PIN = ImagePin(
    "sglang",
    "lmsysorg/sglang:v0.5.19-cu129",
    "0.5.19",
    (12, 9),
    "575.51",
    "the last SGLang release with a CUDA 12 image",
)
SGLANG_CUDA13_PIN = ImagePin(
    "sglang", "lmsysorg/sglang:v0.5.19", "0.5.19", (13, 0), "580.65", "CUDA 13 build"
)

LLAMACPP_PIN = ImagePin(
    "llamacpp",
    "ghcr.io/ggml-org/llama.cpp:server-cuda-b11312",
    "b11312",
    (12, 8),
    "570.26",
    "llama-server only; serves GGUF files",
)

PINS: tuple[ImagePin, ...] = (
    TGI_PIN,
    VLLM_PIN,
    VLLM_CUDA12_PIN,
    SGLANG_PIN,
    SGLANG_CUDA13_PIN,
    LLAMACPP_PIN,
)
"""Every pinned image; the first of each engine is its default."""


def pin_for(image: str) -> ImagePin | None:
    """The pin of an image reference, None for an image evalclient does not pin."""
    return next((pin for pin in PINS if pin.image == image), None)


def pins_of(engine: str) -> list[ImagePin]:
    """The engine's pinned images, its default first."""
    return [pin for pin in PINS if pin.engine == engine]


def alternatives(engine: str, driver_cuda: CudaVersion) -> list[ImagePin]:
    """The engine's pinned images that this driver can run, newest CUDA first."""
    fitting = [pin for pin in PINS if pin.engine == engine and pin.cuda <= driver_cuda]
    return sorted(fitting, key=lambda pin: pin.cuda, reverse=True)


def cuda_text(version: CudaVersion) -> str:
    return f"{version[0]}.{version[1]}"


def parse_cuda(text: str) -> CudaVersion | None:
    """`12.4` or `12.4.1` → (12, 4); None for anything else."""
    parts = text.strip().split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])
