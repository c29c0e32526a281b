"""Shared fixtures of the test suite."""
import pytest

from kernel_session import KernelSession


@pytest.fixture(scope="module")
def kernel():
    """One real python3 ipykernel per test module (BOKEH_RESOURCES=inline)."""
    ks = KernelSession()
    yield ks
    ks.close()
