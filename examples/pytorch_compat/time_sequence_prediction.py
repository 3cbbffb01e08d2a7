"""Learning sine waves with two stacked LSTM cells trained by L-BFGS — the kind of program
pytorch/examples' ``time_sequence_prediction`` is, written here for tensorgrad's compatibility
tests. Run it with PyTorch as it is, or with tensorgrad through
``run.py --tg time_sequence_prediction.py`` (only the import lines change).

Each training sequence is sin((t + shift) / T) for a random shift; the model reads the wave one
value at a time and predicts the next value, then keeps going on its own predictions for
``--future`` steps. Everything is float64, as in the original, where L-BFGS's line search
needs the precision.
"""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

from compare_data import numpy_init, parse_args


def sine_waves(n, length, period=20, seed=2):
    rng = np.random.RandomState(seed)
    x = np.empty((n, length), np.int64)
    x[:] = np.arange(length) + rng.randint(-4 * period, 4 * period, n).reshape(n, 1)
    return np.sin(x / 1.0 / period).astype(np.float64)


class Sequence(nn.Module):
    def __init__(self, hidden=51):
        super().__init__()
        self.hidden = hidden
        self.lstm1 = nn.LSTMCell(1, hidden)
        self.lstm2 = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        c_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):  # predicting the future from its own outputs
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


def main():
    args = parse_args("sine waves, LSTM cells, L-BFGS", steps=15, n=100, length=1000, hidden=51,
                      future=1000, max_iter=20, init_seed=int, log=str)

    np.random.seed(0)
    torch.manual_seed(0)
    data = sine_waves(args.n, args.length)
    input = torch.from_numpy(data[3:, :-1])
    target = torch.from_numpy(data[3:, 1:])
    test_input = torch.from_numpy(data[:3, :-1])
    test_target = torch.from_numpy(data[:3, 1:])
    seq = Sequence(args.hidden)
    seq.double()
    if args.init_seed is not None:
        numpy_init(seq, args.init_seed, fan_in=lambda p: seq.hidden)
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=args.max_iter)
    log = {"loss": [], "test_loss": []}
    for i in range(args.steps):
        print("STEP: ", i)

        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            print("loss:", loss.item())
            log["loss"].append(loss.item())
            loss.backward()
            return loss

        optimizer.step(closure)
        with torch.no_grad():
            pred = seq(test_input, future=args.future)
            loss = criterion(pred[:, :-args.future], test_target)
            print("test loss:", loss.item())
            log["test_loss"].append(loss.item())
            y = pred.detach().numpy()
    log["prediction_shape"] = list(y.shape)
    if args.log:
        with open(args.log, "w") as f:
            json.dump(log, f)


if __name__ == "__main__":
    main()
