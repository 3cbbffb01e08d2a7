"""A variational autoencoder (Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014)
on 28x28 images — the kind of program pytorch/examples' ``vae/main.py`` is, written here for
tensorgrad's compatibility tests. Run it with PyTorch as it is, or with tensorgrad through
``run.py --tg vae.py`` (only the import lines change).

The encoder gives the mean and log-variance of q(z|x); training samples z = μ + σ·ε
(the reparameterization trick) and minimizes the negative ELBO, binary cross-entropy of the
reconstruction plus KL(q(z|x) || N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²). In eval mode the
encoder's mean is decoded (no sampling), so evaluation is deterministic.

Data: ``--data file.npz`` (x_train, x_test uint8 images), else Fashion-MNIST from Debian's
``dataset-fashion-mnist``, else scikit-learn's digits enlarged to 28x28.
"""
import json

import numpy as np
import torch
from torch import nn, optim
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from compare_data import load_images, numpy_init, parse_args



class VAE(nn.Module):
    def __init__(self, hidden=400, latent=20):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        if not self.training:
            return mu
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def evaluate(model, loader):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for (data,) in loader:
            recon, mu, logvar = model(data)
            total += loss_function(recon, data, mu, logvar).item()
    return total / len(loader.dataset)


def main():
    args = parse_args("VAE on 28x28 images", batch_size=128, epochs=10, lr=1e-3, seed=1,
                      hidden=400, latent=20, train_size=60000, test_size=10000, no_shuffle=False,
                      init_seed=int, data=str, samples=0, log=str,
                      help={"samples": "decode this many z ~ N(0, I)"})

    torch.manual_seed(args.seed)
    x_train, _, x_test, _ = load_images(args.data)
    train_x = torch.tensor(x_train[:args.train_size].astype(np.float32) / 255.0)
    test_x = torch.tensor(x_test[:args.test_size].astype(np.float32) / 255.0)
    train_loader = DataLoader(TensorDataset(train_x), batch_size=args.batch_size,
                              shuffle=not args.no_shuffle)
    test_loader = DataLoader(TensorDataset(test_x), batch_size=args.batch_size)

    model = VAE(args.hidden, args.latent)
    if args.init_seed is not None:
        numpy_init(model, args.init_seed)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    log = {"train_loss": [], "test_loss": [evaluate(model, test_loader)]}
    for epoch in range(1, args.epochs + 1):
        model.train()
        train_loss = 0.0
        for (data,) in train_loader:
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            log["train_loss"].append(loss.item() / len(data))
        log["test_loss"].append(evaluate(model, test_loader))
        print(f"====> Epoch: {epoch} Average loss: {train_loss / len(train_loader.dataset):.4f}"
              f"  Test set loss: {log['test_loss'][-1]:.4f}")
    if args.samples:
        with torch.no_grad():
            sample = model.decode(torch.randn(args.samples, args.latent))
        log["sample_shape"] = list(sample.shape)
        log["sample_range"] = [sample.min().item(), sample.max().item()]
    if args.log:
        with open(args.log, "w") as f:
            json.dump(log, f)


if __name__ == "__main__":
    main()
