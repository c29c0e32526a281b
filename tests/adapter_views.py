"""What the adapter tests share: a view that notes how a run ended, one that always raises, and the rows a page got."""
from livetrain import Callback


class Spy(Callback):
    """Notes each end of a run: ``None`` for ``on_train_end``, the exception for ``on_exception``."""

    def __init__(self):
        self.ends = []

    def on_train_end(self, history):
        self.ends.append(None)

    def on_exception(self, exception, history):
        self.ends.append(exception)


class Broken(Callback):
    """A view that raises on every update: the adapter must switch it off and training go on."""

    def on_log(self, step, logs, history):
        raise ValueError("broken view")

    def on_epoch_end(self, epoch, phase, history):
        raise ValueError("broken view")


def shown(all_pushes) -> dict[str, dict[str, list]]:
    """tag -> the rows the page's scalar sources got (``livetrain:scalars:<tag>``): in the model when its panel
    joined the page, then streamed."""
    ids, rows = {}, {}

    def find(value):
        if isinstance(value, dict):
            name = value.get("attributes", {}).get("name", "")
            if value.get("name") == "ColumnDataSource" and name.startswith("livetrain:scalars:"):
                ids[value["id"]] = name.removeprefix("livetrain:scalars:")
                rows[ids[value["id"]]] = {c: list(v) for c, v in value["attributes"]["data"]["entries"]}
            value = list(value.values())
        for item in value if isinstance(value, list) else ():
            find(item)

    for p in all_pushes:
        for ev in p.events:
            if ev["kind"] == "ModelChanged":
                find(ev["new"])
            elif ev["kind"] == "ColumnsStreamed" and ev["model"]["id"] in ids:
                for column, values in ev["data"]["entries"]:
                    rows[ids[ev["model"]["id"]]][column].extend(values)
    return rows
