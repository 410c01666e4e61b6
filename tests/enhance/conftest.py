"""The enhancer's tests run small networks: one torch thread each. On a shared 2-core machine
two threads of a tiny convolution wait for each other whenever another process holds a core
(measured: a 64 px RestoreFormer forward 1.1-2.8 s on one thread, 6-8 s on two, load 11)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
