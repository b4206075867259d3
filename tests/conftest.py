import warnings

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _quiet_torch_warnings():
    # torch's own UserWarnings (size mismatch, KLDiv 'mean') are part of what examples exercise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield
