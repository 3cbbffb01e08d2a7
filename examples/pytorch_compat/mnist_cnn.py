"""A convolutional digit classifier trained with Adadelta and a StepLR schedule — the kind of
program pytorch/examples' ``mnist/main.py`` is, written here for tensorgrad's compatibility
tests. A plain PyTorch program: run it with PyTorch as it is, or with tensorgrad through
``run.py --tg mnist_cnn.py`` (only the import lines change).

Data: ``--data file.npz`` (x_train, y_train, x_test, y_test as uint8 images 28x28 and labels),
else Fashion-MNIST from Debian's ``dataset-fashion-mnist`` if installed, else scikit-learn's
8x8 digits enlarged to 28x28.
"""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

from compare_data import load_images, numpy_init, parse_args



class Net(nn.Module):
    def __init__(self, c1=32, c2=64, hidden=128, p1=0.25, p2=0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, 1)
        self.conv2 = nn.Conv2d(c1, c2, 3, 1)
        self.dropout1 = nn.Dropout(p1)
        self.dropout2 = nn.Dropout(p2)
        self.fc1 = nn.Linear(c2 * 12 * 12, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def to_tensors(x, y, limit):
    x, y = x[:limit], y[:limit]
    x = (x.astype(np.float32) / 255.0 - 0.1307) / 0.3081
    return torch.tensor(x).unsqueeze(1), torch.tensor(y.astype(np.int64))


def train(args, model, train_loader, optimizer, epoch, log):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        log["train_loss"].append(loss.item())
        if batch_idx % args.log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)} "
                  f"({100.0 * batch_idx / len(train_loader):.0f}%)]\tLoss: {loss.item():.6f}")


def test(model, test_loader, log):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    log["test_loss"].append(test_loss)
    log["test_correct"].append(correct)
    print(f"\nTest set: Average loss: {test_loss:.4f}, Accuracy: {correct}/"
          f"{len(test_loader.dataset)} ({100.0 * correct / len(test_loader.dataset):.0f}%)\n")


def main():
    args = parse_args(
        "MNIST-style CNN, Adadelta + StepLR",
        batch_size=64, test_batch_size=1000, epochs=3, lr=1.0, gamma=0.7, seed=1,
        log_interval=10, train_size=6000, test_size=1000, widths="32,64,128",
        dropout=(0.25, 0.5), no_shuffle=False, init_seed=int, data=str, log=str, save_model=False,
        help={"widths": "conv1,conv2,fc1",
              "init_seed": "numpy-drawn initial weights (same in every framework)",
              "log": "write losses here (JSON)"})

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x_train, y_train, x_test, y_test = load_images(args.data)
    train_ds = TensorDataset(*to_tensors(x_train, y_train, args.train_size))
    test_ds = TensorDataset(*to_tensors(x_test, y_test, args.test_size))
    train_loader = DataLoader(train_ds, batch_size=args.batch_size,
                              shuffle=not args.no_shuffle)
    test_loader = DataLoader(test_ds, batch_size=args.test_batch_size)

    c1, c2, hidden = (int(v) for v in args.widths.split(","))
    model = Net(c1, c2, hidden, *args.dropout).to(device)
    if args.init_seed is not None:
        numpy_init(model, args.init_seed)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    log = {"train_loss": [], "test_loss": [], "test_correct": [], "lr": []}
    test(model, test_loader, log)
    for epoch in range(1, args.epochs + 1):
        train(args, model, train_loader, optimizer, epoch, log)
        test(model, test_loader, log)
        scheduler.step()
        log["lr"].append(scheduler.get_last_lr()[0])
    if args.save_model:
        torch.save(model.state_dict(), "mnist_cnn.pt")
    if args.log:
        with open(args.log, "w") as f:
            json.dump(log, f)


if __name__ == "__main__":
    main()
