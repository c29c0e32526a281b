"""Bar views: user names are shown as text, never used as column names or templates; interrupted updates heal."""
import re

import pytest
from bokeh.core.property.vectorization import Value
from bokeh.document import Document
from bokeh.document.events import ColumnsPatchedEvent
from bokeh.models import HoverTool

from livetrain import HBarPlotsCallback, VBarPlotsCallback

HOSTILE = ("category", "${x}", "@{y}", "@z", "}{", "</script><img src=x onerror=alert(1)>")
PLACEHOLDER = re.compile(r"[@$](\w+|\{[^{}]*\})")  # Bokeh's fields (@col, @{col}) and special variables ($x, ${x})


def fed(cls, keys, categories, phases=("train",)):
    cb = cls(categories=list(categories), keys=keys, phases=phases)
    history = {p: {k: [[i + j for j in range(len(categories))]] for i, k in enumerate(keys)} for p in phases}
    for phase in phases:
        cb.on_epoch_end(0, phase, history)
    cb.flush()
    return cb


@pytest.mark.parametrize("cls", [VBarPlotsCallback, HBarPlotsCallback])
def test_keys_and_labels_of_any_text_draw_their_values(cls):
    labels = ["$index", "@{category}", "{0}", "</script>"]
    cb = fed(cls, HOSTILE, labels, phases=("train", "${phase}"))
    for phase in ("train", "${phase}"):
        data = cb.sources[phase].data
        assert data["category"] == labels  # the factors, not a user's values
        for i, key in enumerate(HOSTILE):
            assert data[cb.columns[key]] == [float(i + j) for j in range(4)]
        assert set(data) == {"category", *cb.columns.values()} and not set(HOSTILE) & set(cb.columns.values())


def test_tooltips_show_user_text_as_labels_and_template_only_livetrains_columns():
    cb = fed(VBarPlotsCallback, HOSTILE, ["a", "b"])
    [hover] = [t for t in cb.figures[0].tools if isinstance(t, HoverTool)]
    assert [label for label, _ in hover.tooltips] == ["category", *HOSTILE]  # labels are plain text in BokehJS
    for _, template in hover.tooltips:
        fields = [m.strip("{}") for m in PLACEHOLDER.findall(template)]
        assert fields and all(f in cb.sources["train"].data for f in fields), template
        assert not any(key in template for key in HOSTILE[1:]), template
    assert all(f.strip("@{}") in cb.sources["train"].data for f in hover.formatters)


def test_legend_labels_are_values_not_fields():
    cb = fed(HBarPlotsCallback, HOSTILE, ["a", "b"])
    [legend] = cb.figures[0].above
    assert [item.label for item in legend.items] == [Value(k) for k in HOSTILE]


@pytest.mark.parametrize("title, given", [("{epoch}", "KeyError: 'epoch'"), ("{0}", "IndexError"),
                                          ("Epoch {", "ValueError: Single '{'"), ("{phase.nope}", "AttributeError")])
def test_a_bad_title_names_the_argument_the_field_it_may_use_and_what_was_given(title, given):
    with pytest.raises(ValueError) as err:
        VBarPlotsCallback(title=title)
    message = str(err.value)
    assert message.startswith("title must be a str.format template whose only field is {phase}")
    assert repr(title) in message and given in message


def test_phase_names_enter_titles_as_text():
    cb = VBarPlotsCallback(phases=("{x}", "${y}"), title="Per class {{counts}} ({phase})")
    assert [f.title.text for f in cb.figures] == ["Per class {counts} ({x})", "Per class {counts} (${y})"]


def test_an_update_interrupted_by_ctrl_c_is_sent_whole_by_the_next_push():
    cb = VBarPlotsCallback(categories=3, phases=("train",), interval=0)
    doc = Document()
    doc.add_root(cb.graph)
    history = {"train": {"corrects": [[0, 0, 0]], "counts": [[1, 1, 1]]}}
    cb.on_epoch_end(0, "train", history)
    sent, interrupt = [], [True]

    def frontend(event):
        if interrupt.pop() if interrupt else False:
            raise KeyboardInterrupt  # Ctrl-C while the patch goes out
        if isinstance(event, ColumnsPatchedEvent):
            sent.append(event.patches)

    doc.callbacks.on_change(frontend)
    history = {"train": {"corrects": [[0, 0, 0], [1, 2, 3]], "counts": [[1, 1, 1], [4, 5, 6]]}}
    with pytest.raises(KeyboardInterrupt):
        cb.on_epoch_end(1, "train", history)
    cb.flush()  # the next push (or the throttle's own, which may have come first)
    assert sent == [{cb.columns["corrects"]: [(slice(0, 3), [1.0, 2.0, 3.0])],
                     cb.columns["counts"]: [(slice(0, 3), [4.0, 5.0, 6.0])]}]
