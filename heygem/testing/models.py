"""Random-weight Wav2Lip models in the official checkpoint format, for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path


def random_wav2lip(seed: int = 0, output_gain: float = 1.0, outlier_gain: float = 1.0):
    """A random-weight Wav2Lip in eval mode with BatchNorm statistics like a trained model's.

    ``output_gain`` scales the last conv so the faces span the pixel range (a random model's
    output is nearly flat, which would hide numeric differences between runtimes).
    ``outlier_gain`` scales the first channel of every BatchNorm (weight and bias): one
    channel then sets each layer's int8 activation range, and the others keep only a few of
    its 256 levels, so int8 cannot run such weights faithfully (the int8 gate's failing case).
    """
    import torch

    from heygem.lipsync.model import Wav2Lip

    torch.manual_seed(seed)
    model = Wav2Lip()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight[0] *= outlier_gain
                module.bias[0] *= outlier_gain
        model.output_block[1].weight.mul_(output_gain)
    return model.eval()


def random_checkpoint(
    path: Path,
    seed: int = 0,
    output_gain: float = 1.0,
    data_parallel_prefix=False,
    outlier_gain: float = 1.0,
) -> Path:
    """Write :func:`random_wav2lip` as an official ``{"state_dict": ...}`` checkpoint."""
    from heygem.lipsync.checkpoint import save_checkpoint

    model = random_wav2lip(seed, output_gain, outlier_gain)
    save_checkpoint(model, path, data_parallel_prefix=data_parallel_prefix)
    return path
