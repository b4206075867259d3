import importlib
import importlib.metadata
import os
import re
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


# The newest release of each unpinned third-party library that the tests were last verified against.
# CI installs today's releases (a newer one is how a real incompatibility is found), so a test that
# fails while one of the libraries it uses is newer than this says so in its failure: the cause may be
# the library's change rather than losslint's. Text another project owns (its line numbers, paths,
# version strings, message wording) is never compared as-is; see tests/test_training_output.py.
VERIFIED_RELEASES = {
    "transformers": "5.25.0",
    "accelerate": "1.16.0",
    "lightning": "2.6.6",
    "monai": "1.6.1",
    "kornia": "0.9.0",
    "pytorch_metric_learning": "2.9.0",
    "timm": "1.0.31",
    "segmentation_models_pytorch": "0.6.0",
    "torchvision": "0.29.1",
}
_DISTRIBUTION = {"pytorch_metric_learning": "pytorch-metric-learning", "segmentation_models_pytorch": "segmentation-models-pytorch"}


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def newer_than_verified(source: str) -> list[str]:
    """'transformers 5.26.0 (verified up to 5.25.0)' for each library named in `source` whose installed
    release is newer than the newest one the tests were verified against."""
    out = []
    for library, verified in VERIFIED_RELEASES.items():
        if not re.search(rf"\b{library}\b", source):
            continue
        try:
            installed = importlib.metadata.version(_DISTRIBUTION.get(library, library))
        except importlib.metadata.PackageNotFoundError:
            continue
        if _release(installed) > _release(verified):
            out.append(f"{library} {installed} (verified up to {verified})")
    return out


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    try:
        source = item.path.read_text()
    except OSError:
        return
    newer = newer_than_verified(source)
    if newer:
        report.sections.append((
            "third-party releases newer than verified",
            "This test uses " + ", ".join(newer) + ". If the failure comes from a change in that library, "
            "it is a real incompatibility: adapt losslint's rules for it, then raise VERIFIED_RELEASES in tests/conftest.py.",
        ))
