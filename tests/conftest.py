"""Shared fixtures of the test suite."""
import pytest

from kernel_session import KernelSession


@pytest.fixture(scope="module")
def kernel():
    """One real python3 ipykernel per test module (BOKEH_RESOURCES=inline)."""
    ks = KernelSession()
    yield ks
    ks.close()


@pytest.fixture(scope="session", autouse=True)
def jupyter_servers():
    """The real-browser tests share one Jupyter server per app (see browser_harness); stop them at the end."""
    yield
    from browser_harness import stop_servers

    stop_servers()
