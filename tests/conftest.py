import importlib
import os
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


@pytest.fixture
def fresh_dynamo():
    """Dynamo's caches cleared before and after a test that compiles (imported only where used)."""
    import torch._dynamo

    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


# Libraries whose tests must run, not skip, where the environment says they are installed:
# LOSSLINT_REQUIRE_INTEGRATION=1 (CI's main environment: the `integration` extra) and
# LOSSLINT_REQUIRE_LIBRARIES=1 (tests/libraries.sh: the `libraries` extra, on a torch with torchvision).
INTEGRATION = {"transformers", "kornia", "pytorch_metric_learning", "lightning", "accelerate", "monai"}
LIBRARIES = {"torchvision", "timm", "segmentation_models_pytorch", "monai", "transformers"}


def required(library: str) -> bool:
    """Whether a missing `library` is a failure here rather than a skip."""
    return (library in INTEGRATION and bool(os.environ.get("LOSSLINT_REQUIRE_INTEGRATION"))) or (
        library in LIBRARIES and bool(os.environ.get("LOSSLINT_REQUIRE_LIBRARIES"))
    )


def need(library: str):
    """Import `library`, or skip the test module where it is not installed (fail where it is required)."""
    if required(library):
        return importlib.import_module(library)
    return pytest.importorskip(library)
