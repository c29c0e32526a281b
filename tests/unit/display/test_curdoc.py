"""A Ctrl-C inside a Bokeh document callback (during a push) must not break every later final plot."""
import gc

from bokeh.document import Document

from livetrain import LinePlotsCallback
from livetrain.display.base import final_output


def interrupted_push():
    """A view's update whose push is cut by Ctrl-C while Bokeh runs the document's callbacks; whether it was."""
    cb = LinePlotsCallback(phases=("train",), interval=0)
    doc = Document()
    doc.add_root(cb.graph)

    def frontend(event):
        raise KeyboardInterrupt

    doc.callbacks.on_change(frontend)
    try:
        cb.on_epoch_end(0, "train", {"train": {"loss": [0.5], "acc": [0.1]}})
    except KeyboardInterrupt:
        return True
    return False


def test_the_final_output_works_after_a_ctrl_c_inside_a_document_callback():
    assert interrupted_push()
    gc.collect()  # the document that Bokeh's curdoc() stack still names is gone
    div, script = final_output(LinePlotsCallback().graph)
    assert "data-root-id" in div and "embed_items_notebook" in script
