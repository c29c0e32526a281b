"""EmbeddingCallback and EmbeddingPanel: PCA points per class, coordinates as float32 buffers every epoch, labels and
thumbnails once, names kept as text, fed from the history and from SummaryWriter.add_embedding, drawn by mpl."""
import base64
import importlib.util
import io

import numpy as np
import pytest
import torch
from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.resources import INLINE
from browser_harness import CHROME_ARGS, CHROMIUM
from PIL import Image

from livetrain import History, SummaryWriter
from livetrain.core.projection import pca
from livetrain.frames import open_renderer
from livetrain.frames.png import to_image
from livetrain.views.embedding import OTHER, EmbeddingCallback, EmbeddingPanel, thumbnails
from livetrain.wire import patch_message

HOSTILE = "<img src=x onerror=alert(1)>"


def sample(n=200, k=4, d=16, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    images = rng.random((n, 1, 28, 28)).astype(np.float32)
    return labels, images, rng.normal(size=(k, d))


def features(labels, centres, epoch):
    noise = np.random.default_rng(100 + epoch).normal(size=(len(labels), centres.shape[1]))
    return centres[labels] * (1 + epoch) + noise


def test_points_are_the_pca_of_the_features_a_renderer_per_class_with_names_and_thumbnails():
    labels, images, centres = sample()
    cb = EmbeddingCallback(classes=["ant", "bee", "cat", "dog"], phases=("test",))
    x = features(labels, centres, 0)
    cb.on_epoch_end(0, "test", {"test": {"features": [torch.tensor(x)], "y_true": [labels], "images": [images]}})
    cb.flush()
    panel = cb.panels["test"]
    data, expected = panel.source.data, pca(x)
    for column, k in (("x", 0), ("y", 1)):
        assert isinstance(data[column], np.ndarray) and data[column].dtype == np.float32
        np.testing.assert_array_equal(data[column], expected.points[:, k])
    assert data["label"] == [["ant", "bee", "cat", "dog"][i] for i in labels]
    assert [item.label.value for item in panel.legend.items] == ["ant", "bee", "cat", "dog", OTHER]
    assert [item.visible for item in panel.legend.items] == [True] * 4 + [False] and panel.legend.click_policy == "hide"
    for k, f in enumerate(panel.filters[:4]):
        assert f.indices == np.flatnonzero(labels == k).tolist()
    thumb = Image.open(io.BytesIO(base64.b64decode(data["thumb"][5].removeprefix("data:image/png;base64,"))))
    assert thumb.size == (28, 28)
    assert np.abs(np.asarray(thumb.convert("L"), float) - np.rint(images[5, 0] * 255)).max() <= 1
    assert "@thumb" in panel.hover.tooltips and "@label" in panel.hover.tooltips
    assert (panel.root.xaxis.axis_label, panel.root.yaxis.axis_label) == tuple(
        f"PC{i + 1} ({100 * r:.1f}%)" for i, r in enumerate(expected.explained))


def test_each_epoch_sends_only_the_coordinates_as_buffers_and_a_new_sample_sends_labels_and_thumbnails():
    labels, images, centres = sample(n=1000)
    cb = EmbeddingCallback(classes=4, phases=("test",))
    doc = Document()
    doc.add_root(cb.graph)
    events = []
    doc.on_change(events.append)
    h = {"test": {"features": [], "y_true": [], "images": []}}
    sizes = []
    for epoch in range(30):
        h["test"]["features"].append(features(labels, centres, epoch))
        h["test"]["y_true"].append(labels.copy())  # equal, not the same object: compared, not resent
        h["test"]["images"].append(images.copy())
        events.clear()
        cb.on_epoch_end(epoch, "test", h)
        cb.flush()
        content, _, buffers = patch_message(events)
        if epoch == 0:
            assert "data:image/png;base64," in content
            continue
        changed = [e for e in events if type(e).__name__ == "ColumnDataChangedEvent"]
        assert [sorted(e.cols) for e in changed] == [["x", "y"]]
        assert {type(e).__name__ for e in events} <= {"ColumnDataChangedEvent", "ModelChangedEvent"}
        assert [len(b) for b in buffers] == [4000, 4000] and len(content) < 2000
        sizes.append(len(content) + sum(map(len, buffers)))
    assert max(sizes[-5:]) <= 1.05 * max(sizes[:5])
    h["test"]["features"].append(features(labels, centres, 30))
    h["test"]["y_true"].append(labels)
    h["test"]["images"].append(images[::-1].copy())  # other images: the thumbnails travel again
    events.clear()
    cb.on_epoch_end(30, "test", h)
    cb.flush()
    content, _, _ = patch_message(events)
    assert content.count("data:image/png;base64,") == 1000


def test_a_new_sample_recorded_before_a_push_is_not_lost_by_the_next_epoch():
    labels, images, centres = sample(n=50)
    cb = EmbeddingCallback(classes=4, phases=("test",), interval=60)
    h = {"test": {"features": [features(labels, centres, 0)], "y_true": [labels], "images": [images]}}
    cb.on_epoch_end(0, "test", h)
    h["test"]["features"].append(features(labels, centres, 1))
    cb.on_epoch_end(1, "test", h)  # same sample, no push between the two
    cb.flush()
    assert len(cb.panels["test"].source.data["thumb"]) == 50
    second = pca(h["test"]["features"][1], previous=pca(h["test"]["features"][0]).components)
    np.testing.assert_array_equal(cb.panels["test"].source.data["x"], second.points[:, 0])


def test_class_names_and_labels_stay_text_in_the_tooltip():
    cb = EmbeddingCallback(classes=[HOSTILE, "dog"], phases=("test",))
    cb.on_epoch_end(0, "test", {"test": {"features": [np.eye(4)], "y_true": [np.array([0, 1, 0, 5])]}})
    cb.flush()
    panel = cb.panels["test"]
    assert panel.source.data["label"] == [HOSTILE, "dog", HOSTILE, "5"]  # BokehJS escapes @label in the tooltip
    assert "{safe}" not in panel.hover.tooltips and "@thumb" not in panel.hover.tooltips  # no images: no <img>
    assert panel.legend.items[0].label.value == HOSTILE  # a legend label is drawn as text
    assert panel.legend.items[-1].visible and panel.filters[-1].indices == [3]  # label 5: none of the classes
    assert len(thumbnails(np.ones((3, 8, 8)))) == 3  # three grey images, not one RGB image
    with pytest.raises(ValueError, match=r"images must be \(N, H, W\), \(N, C, H, W\) or \(N, H, W, C\); got shape"):
        thumbnails(np.ones((3, 64)))
    urls = thumbnails(np.random.default_rng(0).normal(size=(3, 8, 8, 3)))  # floats outside 0..1: stretched
    assert all(u.startswith("data:image/png;base64,") and set(u[22:]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") for u in urls)


# The first point's position in the page, then every tooltip's HTML, text and images' sources (through shadow roots).
JS_POINT = """() => { const B = window.Bokeh, d = B.documents[0];
  const plot = [...d.all_models].find((m) => m.renderers !== undefined), view = B.index.find_one(plot);
  const box = view.el.getBoundingClientRect(), src = d.get_model_by_name("livetrain:embedding:e");
  return [box.x + view.frame.x_scale.compute(src.get_column("x")[0]),
          box.y + view.frame.y_scale.compute(src.get_column("y")[0])]; }"""
JS_TIPS = """() => { const out = []; const walk = (root) => { for (const el of root.querySelectorAll("*")) {
    if (el.shadowRoot) walk(el.shadowRoot);
    if (String(el.className).includes("tooltip-content")) out.push({html: el.innerHTML, text: el.textContent,
        images: [...el.querySelectorAll("img")].map((i) => i.getAttribute("src"))}); } };
  walk(document); return out; }"""


@pytest.mark.browser
def test_hovering_a_point_in_chromium_shows_its_thumbnail_and_its_hostile_label_as_text(tmp_path):
    from playwright.sync_api import sync_playwright

    panel = EmbeddingPanel("e", (HOSTILE, "b"))
    panel.record(panel.prepare(np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]), np.array([0, 1, 1]),
                               np.ones((3, 8, 8))))  # 3 grey images, not one RGB image
    panel.apply()
    page_file = tmp_path / "embedding.html"
    page_file.write_text(file_html(panel.root, INLINE, "embedding"), encoding="utf-8")
    assert CHROMIUM, "chromium not found: install Debian's chromium package or set LIVETRAIN_CHROMIUM"
    with sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        try:
            page, dialogs = chrome.new_page(), []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(page_file.as_uri())
            page.wait_for_function("() => window.Bokeh?.documents?.length > 0 && Bokeh.index.roots.length > 0")
            page.wait_for_timeout(300)
            page.mouse.move(*page.evaluate(JS_POINT))
            page.wait_for_function(f"() => ({JS_TIPS})().length > 0")
            tips = page.evaluate(JS_TIPS)
            page.wait_for_timeout(300)  # an injected image's onerror would have fired by now
        finally:
            chrome.close()
    assert not dialogs
    assert [t["text"] for t in tips] == [HOSTILE] and "&lt;img src=x" in tips[0]["html"]
    assert [src[:22] for src in tips[0]["images"]] == ["data:image/png;base64,"]  # the thumbnail, nothing injected


def test_max_points_caps_the_sample_and_bad_input_is_named():
    labels, images, centres = sample(n=300)
    cb = EmbeddingCallback(classes=4, phases=("train",), max_points=100)
    cb.on_epoch_end(0, "train", {"train": {"features": [features(labels, centres, 0)], "y_true": [labels]}})
    cb.flush()
    assert len(cb.panels["train"].source.data["x"]) == 100 and "thumb" not in cb.panels["train"].source.data
    cb.on_epoch_end(0, "train", {"train": {"loss": [0.5]}})  # no features: skipped
    with pytest.raises(ValueError, match=r"history\['train'\] keys \['features', 'y_true', 'images'\]: expected one "
                                         r"image per point \(100\); got 3"):
        cb.on_epoch_end(1, "train", {"train": {"features": [np.zeros((300, 4))], "images": [images[:3]]}})
    with pytest.raises(ValueError, match="method must be one of"):
        EmbeddingCallback(method="mds")
    if importlib.util.find_spec("umap") is None:
        with pytest.raises(ImportError, match="pip install umap-learn"):
            EmbeddingCallback(method="umap")


def test_from_history_and_demo_history_and_a_resumed_run_shows_at_once():
    saved = EmbeddingCallback.demo_history(2)
    cb = EmbeddingCallback.from_history(saved)
    assert cb.classes == tuple(str(i) for i in range(10)) and cb.phases == ("train", "test")
    cb.on_train_begin(saved)
    cb.flush()
    assert all(len(p.source.data["thumb"]) == 300 for p in cb.panels.values())
    assert EmbeddingCallback.from_history(History({"val": {"features": [np.eye(3)]}})).classes == tuple(
        str(i) for i in range(10))


def test_tsne_projects_the_features():
    labels, _, centres = sample(n=90)
    cb = EmbeddingCallback(classes=4, phases=("test",), method="tsne")
    cb.on_epoch_end(0, "test", {"test": {"features": [features(labels, centres, 2)], "y_true": [labels]}})
    cb.flush()
    panel = cb.panels["test"]
    assert panel.root.xaxis.axis_label == "t-SNE 1" and panel.source.data["x"].dtype == np.float32
    points = np.stack([panel.source.data["x"], panel.source.data["y"]], axis=1)
    centroids = np.stack([points[labels == k].mean(axis=0) for k in range(4)])
    spread = np.mean([np.linalg.norm(points[labels == k] - centroids[k], axis=1).mean() for k in range(4)])
    assert np.min([np.linalg.norm(a - b) for i, a in enumerate(centroids) for b in centroids[i + 1:]]) > 2 * spread


def test_summary_writer_add_embedding_feeds_the_callback_and_the_board_panel():
    labels, images, centres = sample(n=40)
    names = [["ant", "bee", "cat", "dog"][i] for i in labels]
    w = SummaryWriter(write_to_disk=False, show=False)
    cb = EmbeddingCallback(classes=["ant", "bee", "cat", "dog"], phases=(), tags=("feat",))
    w.add_callback(cb)
    w.add_embedding(features(labels, centres, 0), metadata=names, label_img=torch.tensor(images), tag="feat",
                    global_step=3)
    cb.flush()
    panel = cb.panels["feat"]
    assert panel.source.data["label"] == names and len(panel.source.data["thumb"]) == 40
    assert panel.filters[2].indices == np.flatnonzero(labels == 2).tolist()
    assert panel.root.title.text == "feat (step 3)"
    board = EmbeddingPanel("feat")  # the board's panel finds the classes in the first labels
    step, _, value = w.history.records["feat"].entries[-1]
    board.stage("feat", step, value, w.history)
    board.apply()
    assert [i.label.value for i in board.legend.items] == [*dict.fromkeys(names), OTHER]
    assert board.source.data["label"] == names and board.root.title.text == "feat (step 3)"


def test_the_matplotlib_renderer_draws_a_replica_by_class_and_honours_click_to_hide():
    labels, _, centres = sample(n=300, k=2)
    copy = EmbeddingCallback(classes=2, phases=("test",)).replica()  # what FrameExporter draws from
    copy.on_epoch_end(0, "test", {"test": {"features": [features(labels, centres, 1)], "y_true": [labels]}})
    panel = copy.panels["test"]
    panel.legend.visible = False  # its glyphs share the points' colours

    def frame():
        renderer, _ = open_renderer(copy.graph, "matplotlib")
        try:
            return np.asarray(to_image(renderer.capture())).astype(int)
        finally:
            renderer.close()

    def orange(pixels):  # class 1's colour, Category10's second
        return int((np.abs(pixels - (255, 127, 14)).max(axis=2) <= 40).sum())

    assert orange(frame()) > 100
    panel.root.renderers[1].visible = False  # what a click on its legend entry does
    assert orange(frame()) == 0
