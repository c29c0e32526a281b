"""A Ctrl-C inside a Bokeh document callback (during a push) must not break every later final plot."""
import gc

from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.io import curdoc
from bokeh.resources import INLINE

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


def test_a_ctrl_c_inside_a_document_callback_leaves_bokehs_curdoc_as_it_was():
    before = curdoc()
    assert interrupted_push()
    assert curdoc() is before  # not the view's document, which Bokeh would name until it is collected
    gc.collect()
    assert "Bokeh Application" in file_html(LinePlotsCallback().graph, INLINE)  # Bokeh's own, not livetrain's
