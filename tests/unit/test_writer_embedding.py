"""SummaryWriter.add_embedding writes the files TensorBoard's projector reads, as torch's writer writes them: the
projector plugin itself serves them back, and torch's writer, given the same values, writes the same text."""
import io
import warnings
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from google.protobuf import text_format
from PIL import Image
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from tensorboard.plugins.projector import projector_config_pb2
from tensorboard.plugins.projector.projector_plugin import ProjectorPlugin
from torch.utils.tensorboard import SummaryWriter as TorchWriter
from werkzeug.test import Client

from livetrain.writer import SummaryWriter

torch.set_num_threads(1)


def config(run: Path) -> projector_config_pb2.ProjectorConfig:
    """The run's projector_config.pbtxt, parsed by protobuf into TensorBoard's own message."""
    return text_format.Parse((run / "projector_config.pbtxt").read_text(encoding="utf-8"),
                             projector_config_pb2.ProjectorConfig())


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def projector(logdir: Path):
    """GET for the routes of TensorBoard's projector plugin, serving ``logdir`` as ``tensorboard --logdir`` would."""
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    context = base_plugin.TBContext(logdir=str(logdir), multiplexer=mux,
                                    data_provider=data_provider.MultiplexerDataProvider(mux, str(logdir)))
    apps = ProjectorPlugin(context).get_plugin_apps()

    def get(route: str, **query) -> bytes:
        response = Client(apps[route]).get(route, query_string=query)
        assert response.status_code == 200, (route, response.data[:300])
        return response.data

    return get


def test_tensorboards_projector_serves_what_add_embedding_wrote(tmp_path):
    mat = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    thumbs = np.random.default_rng(1).random((5, 5, 6, 3))  # NHWC, 6 wide and 5 high
    with SummaryWriter(tmp_path / "run", show=False) as writer:
        writer.add_embedding(mat, metadata=["a", "b", "c", "d", "e"], label_img=thumbs, global_step=7, tag="feat")
    get = projector(tmp_path)
    import json

    assert json.loads(get("/runs")) == ["run"]
    [info] = json.loads(get("/info", run="run"))["embeddings"]
    assert info["tensorName"] == "feat:00007" and info["tensorShape"] == [5, 3]
    assert info["sprite"]["singleImageDim"] == [6, 5]  # width, height
    tensor = np.frombuffer(get("/tensor", run="run", name="feat:00007", num_rows=100), "<f4")
    assert np.array_equal(tensor.reshape(5, 3), mat)
    assert get("/metadata", run="run", name="feat:00007").decode() == "a\nb\nc\nd\ne\n"
    sprite = pixels(get("/sprite_image", run="run", name="feat:00007"))
    assert sprite.shape == (3 * 5, 3 * 6, 3)  # 5 thumbnails: a 3 x 3 grid of 5 x 6 cells, row by row
    expected = (thumbs * 255).astype(np.uint8)
    assert np.array_equal(sprite[0:5, 6:12], expected[1]) and np.array_equal(sprite[5:10, 0:6], expected[3])
    assert not sprite[5:10, 12:].any() and not sprite[10:].any()  # the empty cells are black


def write_both(folder: Path, calls: list[dict]) -> tuple[Path, Path]:
    """The same add_embedding calls through torch's writer and livetrain's."""
    ours, theirs = folder / "ours", folder / "torch"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's tensorboard shims warn about their own deprecations
        torch_writer = TorchWriter(str(theirs))
        for call in calls:
            torch_writer.add_embedding(**call)
        torch_writer.close()
    with SummaryWriter(ours, show=False) as writer:
        for call in calls:
            writer.add_embedding(**call)
    return ours, theirs


def test_the_files_are_torchs(tmp_path):
    generator = torch.Generator().manual_seed(0)
    labels = [f"point {i}" for i in range(10)]
    calls = [
        dict(mat=torch.randn(10, 4, generator=generator), metadata=labels,
             label_img=torch.rand(10, 3, 8, 8, generator=generator), global_step=3),
        dict(mat=torch.randn(10, 4, generator=generator).double(), global_step=3, tag="no labels"),
        dict(mat=np.arange(20).reshape(10, 2), metadata=[[name, i % 3] for i, name in enumerate(labels)],
             metadata_header=["name", "class"], global_step=12, tag="layer/fc 1 é"),
        dict(mat=torch.randn(4, 2, generator=generator), label_img=torch.rand(4, 1, 5, 5, generator=generator),
             global_step=12),
    ]
    ours, theirs = write_both(tmp_path, calls)
    assert config(ours) == config(theirs)
    assert (ours / "projector_config.pbtxt").read_text("utf-8") == \
        (theirs / "projector_config.pbtxt").read_text("utf-8")
    assert len(config(ours).embeddings) == 4  # one entry appended per call
    files = sorted(p.relative_to(theirs) for p in theirs.rglob("*") if p.is_file() and "tfevents" not in p.name)
    assert files == sorted(p.relative_to(ours) for p in ours.rglob("*") if p.is_file() and "tfevents" not in p.name)
    assert Path("00012/layer%2ffc 1 é/metadata.tsv") in files
    for file in files:
        if file.suffix in (".tsv", ".pbtxt"):
            assert (ours / file).read_text("utf-8") == (theirs / file).read_text("utf-8"), file
        else:  # the sprites: the same pixels (PNG encoders may differ)
            assert np.array_equal(pixels((ours / file).read_bytes()), pixels((theirs / file).read_bytes())), file
    assert (ours / "00012/layer%2ffc 1 é/metadata.tsv").read_text("utf-8").splitlines()[:2] == ["name\tclass",
                                                                                              "point 0\t0"]


@pytest.mark.parametrize("make", [np.asarray, torch.tensor, jnp.asarray])
def test_numpy_torch_and_jax_values_write_the_same_files(tmp_path, make):
    mat = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    nchw = np.random.default_rng(3).random((4, 3, 2, 2)).astype(np.float32)
    with SummaryWriter(tmp_path / "run", show=False) as writer:
        writer.add_embedding(make(mat), metadata=make(np.array([5, 6, 7, 8])), label_img=make(nchw), global_step=0)
        writer.add_embedding(mat, label_img=nchw.transpose(0, 2, 3, 1), global_step=1)  # NHWC, numpy
    run = tmp_path / "run"
    tsv = (run / "00000/default/tensors.tsv").read_text()
    assert tsv == "".join("\t".join(str(float(x)) for x in row) + "\n" for row in mat)
    assert (run / "00000/default/metadata.tsv").read_text() == "5\n6\n7\n8\n"  # a 0-d value: its number
    sprites = [pixels((run / f"0000{i}/default/sprite.png").read_bytes()) for i in (0, 1)]
    assert sprites[0].shape == (4, 4, 3) and np.array_equal(sprites[0], sprites[1])


def test_steps_tags_and_a_repeated_step(tmp_path):
    run = tmp_path / "run"
    with SummaryWriter(run, show=False) as writer:
        writer.add_scalar("loss", 1.0, 41)
        writer.add_embedding(np.zeros((2, 2)))  # no step: one past the last logged, as every livetrain call
        writer.add_embedding(np.zeros((2, 2)), tag="other")
        writer.add_embedding(np.ones((2, 2)), global_step=42)  # the same step and tag again: replaces the entry
    names = [e.tensor_name for e in config(run).embeddings]
    assert names == ["default:00042", "other:00043"]
    assert (run / "00042/default/tensors.tsv").read_text() == "1.0\t1.0\n1.0\t1.0\n"
    assert [s for s, _, _ in writer.history.records["default"].entries] == [42, 42]
    with SummaryWriter(run, show=False) as writer:  # a new writer lists its own embeddings, as torch's does
        writer.add_embedding(np.zeros((2, 2)), global_step=1)
    assert [e.tensor_name for e in config(run).embeddings] == ["default:00001"]


def test_bad_input_warns_once_and_writes_nothing(tmp_path):
    run = tmp_path / "run"
    writer = SummaryWriter(run, show=False)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for step in range(3):
            writer.add_embedding(np.zeros((3, 2)), metadata=[["a", 1]] * 3, metadata_header=["name"], global_step=step)
        writer.add_embedding(np.zeros((3, 2)), label_img=np.zeros((3, 2, 5, 5)), tag="thumbs")  # 2 channels
        writer.add_embedding(np.zeros(3), tag="flat")
    messages = [str(w.message) for w in seen]
    assert len(messages) == 3, messages
    assert "metadata_header has 1 columns; metadata[0] has 2 values" in messages[0]
    assert "label_img" in messages[1] and "(3, 2, 5, 5)" in messages[1] and "2-D" in messages[2]
    assert not writer.history.records and not (run / "projector_config.pbtxt").exists()
    writer.add_embedding(np.zeros((3, 2)), global_step=0)  # then a good one works
    assert len(config(run).embeddings) == 1 and writer.history.records["default"].kind == "embedding"
    writer.close()


def test_without_files_only_the_history(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    writer = SummaryWriter(write_to_disk=False, show=False)
    writer.add_embedding(torch.zeros(3, 2), metadata=["a", "b", "c"], label_img=torch.zeros(3, 1, 4, 4))
    entry = writer.history.records["default"].entries[-1][2]
    assert entry["mat"].shape == (3, 2) and entry["metadata"] == ["a", "b", "c"]
    assert entry["label_img"].shape == (3, 1, 4, 4)
    assert not list(tmp_path.iterdir())
