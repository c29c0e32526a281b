"""``import livetrain`` is cheap: it loads none of the optional or heavy libraries, only what a live view needs."""
import json
import subprocess
import sys

HEAVY = ("matplotlib", "playwright", "PIL", "anywidget", "ipywidgets", "torch", "jax", "tensorflow", "lightning",
         "keras", "transformers", "ignite", "fastai", "accelerate", "tensorboard", "google")


def loaded_after(statement: str) -> list[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_import_livetrain_loads_no_heavy_or_optional_library():
    heavy = sorted({m.split(".")[0] for m in loaded_after("import livetrain") if m.split(".")[0] in HEAVY})
    assert not heavy, f"import livetrain loaded {heavy}"


def test_a_view_outside_notebooks_loads_none_either():
    statement = ("import livetrain\ncb = livetrain.LinePlotsCallback()\n"
                 "cb.on_epoch_end(0, 'train', {'train': {'loss': [1.0], 'acc': [0.5]}}); cb.flush()")
    heavy = sorted({m.split(".")[0] for m in loaded_after(statement) if m.split(".")[0] in HEAVY})
    assert not heavy, f"a live view loaded {heavy}"


def test_the_check_sees_a_heavy_import():
    assert "PIL" in {m.split(".")[0] for m in loaded_after("import livetrain.frames.png")}
