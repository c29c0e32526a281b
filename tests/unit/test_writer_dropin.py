"""The drop-in promise: seed 004 (PyTorch's "Visualizing Models, Data, and Training with TensorBoard"), shrunk to
sklearn's digits and a few hundred steps, runs unchanged but for its import line, and writes the event files torch's
own SummaryWriter writes for it: the same tags, steps and values, read back by TensorBoard's loader."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.util import tensor_util

TORCH_IMPORT = "from torch.utils.tensorboard import SummaryWriter"
OURS_IMPORT = "from livetrain import SummaryWriter"

# The seed, section by section. Only the data differ: the digits (8x8) stand in for Fashion-MNIST (28x28), and a
# small make_grid for torchvision's (not installed here); the model's sizes follow the smaller images.
SEED = '''
# imports
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from sklearn.datasets import load_digits

torch.manual_seed(0)


class Digits(torch.utils.data.Dataset):
    """sklearn's digits as torchvision's FashionMNIST: .data (N, 8, 8) uint8, .targets; items normalised to -1..1."""

    def __init__(self, train):
        digits = load_digits()
        part = slice(0, 1400) if train else slice(1400, None)
        self.data = torch.tensor(digits.images[part] * 255 / 16, dtype=torch.uint8)
        self.targets = torch.tensor(digits.target[part])

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return (self.data[i][None].float() / 255 - 0.5) / 0.5, self.targets[i]


def make_grid(images, nrow=8, padding=2):
    """torchvision.utils.make_grid for (N, 1, H, W): 3 channels, nrow images per row."""
    n, _, h, w = images.shape
    rows = -(-n // nrow)
    grid = torch.zeros(3, rows * (h + padding) + padding, min(n, nrow) * (w + padding) + padding)
    for k in range(n):
        y, x = k // nrow * (h + padding) + padding, k % nrow * (w + padding) + padding
        grid[:, y:y + h, x:x + w] = images[k]
    return grid


# datasets
trainset = Digits(train=True)
testset = Digits(train=False)

# dataloaders
trainloader = torch.utils.data.DataLoader(trainset, batch_size=4, shuffle=True, num_workers=0)
testloader = torch.utils.data.DataLoader(testset, batch_size=4, shuffle=False, num_workers=0)

# constant for classes
classes = ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')


# helper function to show an image
# (used in the `plot_classes_preds` function below)
def matplotlib_imshow(img, one_channel=False):
    if one_channel:
        img = img.mean(dim=0)
    img = img / 2 + 0.5     # unnormalize
    npimg = img.numpy()
    if one_channel:
        plt.imshow(npimg, cmap="Greys")
    else:
        plt.imshow(np.transpose(npimg, (1, 2, 0)))


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 2 * 2, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 2 * 2)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


net = Net()

criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

IMPORT_LINE

# default `log_dir` is "runs" - we'll be more specific here
writer = SummaryWriter('runs/fashion_mnist_experiment_1')

# get some random training images
dataiter = iter(trainloader)
images, labels = next(dataiter)

# create grid of images
img_grid = make_grid(images)

# show images
matplotlib_imshow(img_grid, one_channel=True)

# write to tensorboard
writer.add_image('four_fashion_mnist_images', img_grid)

writer.add_graph(net, images)
writer.close()


# helper function
def select_n_random(data, labels, n=100):
    \'\'\'
    Selects n random datapoints and their corresponding labels from a dataset
    \'\'\'
    assert len(data) == len(labels)

    perm = torch.randperm(len(data))
    return data[perm][:n], labels[perm][:n]


# select random images and their target indices
images, labels = select_n_random(trainset.data, trainset.targets)

# get the class labels for each image
class_labels = [classes[lab] for lab in labels]

# log embeddings
features = images.view(-1, 8 * 8)
writer.add_embedding(features,
                    metadata=class_labels,
                    label_img=images.unsqueeze(1))
writer.close()


# helper functions

def images_to_probs(net, images):
    \'\'\'
    Generates predictions and corresponding probabilities from a trained
    network and a list of images
    \'\'\'
    output = net(images)
    # convert output probabilities to predicted class
    _, preds_tensor = torch.max(output, 1)
    preds = np.squeeze(preds_tensor.numpy())
    return preds, [F.softmax(el, dim=0)[i].item() for i, el in zip(preds, output)]


def plot_classes_preds(net, images, labels):
    \'\'\'
    Generates matplotlib Figure using a trained network, along with images
    and labels from a batch, that shows the network's top prediction along
    with its probability, alongside the actual label, coloring this
    information based on whether the prediction was correct or not.
    Uses the "images_to_probs" function.
    \'\'\'
    preds, probs = images_to_probs(net, images)
    # plot the images in the batch, along with predicted and true labels
    fig = plt.figure(figsize=(12, 48))
    for idx in np.arange(4):
        ax = fig.add_subplot(1, 4, idx+1, xticks=[], yticks=[])
        matplotlib_imshow(images[idx], one_channel=True)
        ax.set_title("{0}, {1:.1f}%\\n(label: {2})".format(
            classes[preds[idx]],
            probs[idx] * 100.0,
            classes[labels[idx]]),
                    color=("green" if preds[idx]==labels[idx].item() else "red"))
    return fig


running_loss = 0.0
for epoch in range(1):  # loop over the dataset multiple times

    for i, data in enumerate(trainloader, 0):

        # get the inputs; data is a list of [inputs, labels]
        inputs, labels = data

        # zero the parameter gradients
        optimizer.zero_grad()

        # forward + backward + optimize
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()

        running_loss += loss.item()
        if i % 100 == 99:    # every 100 mini-batches...

            # ...log the running loss
            writer.add_scalar('training loss',
                            running_loss / 100,
                            epoch * len(trainloader) + i)

            # ...log a Matplotlib Figure showing the model's predictions on a
            # random mini-batch
            writer.add_figure('predictions vs. actuals',
                            plot_classes_preds(net, inputs, labels),
                            global_step=epoch * len(trainloader) + i)
            running_loss = 0.0
print('Finished Training')

# 1. gets the probability predictions in a test_size x num_classes Tensor
# 2. gets the preds in a test_size Tensor
# takes ~10 seconds to run
class_probs = []
class_label = []
with torch.no_grad():
    for data in testloader:
        images, labels = data
        output = net(images)
        class_probs_batch = [F.softmax(el, dim=0) for el in output]

        class_probs.append(class_probs_batch)
        class_label.append(labels)

test_probs = torch.cat([torch.stack(batch) for batch in class_probs])
test_label = torch.cat(class_label)


# helper function
def add_pr_curve_tensorboard(class_index, test_probs, test_label, global_step=0):
    \'\'\'
    Takes in a "class_index" from 0 to 9 and plots the corresponding
    precision-recall curve
    \'\'\'
    tensorboard_truth = test_label == class_index
    tensorboard_probs = test_probs[:, class_index]

    writer.add_pr_curve(classes[class_index],
                        tensorboard_truth,
                        tensorboard_probs,
                        global_step=global_step)
    writer.close()


# plot all the pr curves
for i in range(len(classes)):
    add_pr_curve_tensorboard(i, test_probs, test_label)
'''


def run_seed(folder: Path, import_line: str) -> dict[str, list]:
    """Run the seed as a script in ``folder``; tag -> [(step, value)] of its event files (a value: a number, an
    image's (width, height), or an array)."""
    folder.mkdir()
    script = folder / "seed.py"
    script.write_text(SEED.replace("IMPORT_LINE", import_line))
    env = {**os.environ, "LIVETRAIN_HTML_DIR": str(folder), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(script)], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Finished Training" in done.stdout and "Traceback" not in done.stderr, done.stderr[-3000:]
    out: dict[str, list] = {}
    for file in sorted((folder / "runs" / "fashion_mnist_experiment_1").glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(file)).Load():
            for v in event.summary.value:
                if v.metadata.plugin_data.plugin_name == "images":
                    value = tuple(int(s) for s in v.tensor.string_val[:2])
                else:
                    value = tensor_util.make_ndarray(v.tensor)
                out.setdefault(v.tag, []).append((event.step, value))
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("seed004")
    return run_seed(root / "torch", TORCH_IMPORT), run_seed(root / "livetrain", OURS_IMPORT), root


@pytest.mark.timeout(900)  # two training runs as subprocesses, on a loaded CI machine
def test_the_seed_runs_with_only_its_import_changed(runs):
    theirs, ours, root = runs
    assert set(ours) == set(theirs)  # the image, the traced graph and its run metadata, the loss, figures, PR curves
    assert [s for s, _ in ours["training loss"]] == [s for s, _ in theirs["training loss"]] == [99, 199, 299]
    for (_, a), (_, b) in zip(ours["training loss"], theirs["training loss"]):
        assert float(a) == pytest.approx(float(b), rel=1e-6)  # the same training: the writer changed nothing
    assert ours["predictions vs. actuals"] == theirs["predictions vs. actuals"]  # same steps, same pixel sizes
    assert ours["four_fashion_mnist_images"][0][1] == theirs["four_fashion_mnist_images"][0][1]
    for tag in "0123456789":
        [(_, a)], [(_, b)] = ours[tag], theirs[tag]
        assert a.shape == b.shape == (6, 127)
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6)


def test_the_script_leaves_a_live_page_and_its_final_picture(runs):
    _, _, root = runs
    page = root / "livetrain" / "livetrain-board.html"
    assert page.exists() and 'http-equiv="refresh"' not in page.read_text()  # the final page, at exit
    assert page.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
