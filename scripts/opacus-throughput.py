"""Opacus on PyTorch CPU, the comparison `byzsim-bench dp --opacus PYTHON` prints beside ByzSim.

The same workload as byzsim-bench dp: one epoch over COUNT synthetic 28x28 images of an MLP
784-HIDDEN-10 (ReLU, cross-entropy), plain SGD with shuffled batches of BATCH against Opacus's
DP-SGD (PrivacyEngine.make_private: Poisson sampling at q = BATCH/COUNT, per-sample clipping to
1 by its per-sample gradient hooks, noise multiplier 1), torch on one thread. Prints one JSON
line: {"sgd": samples/s, "dp_sgd": samples/s (per-sample gradient hooks, Opacus's default),
"dp_sgd_ghost": samples/s (ghost clipping), "torch": version, "opacus": version}.
"""
import json
import sys
import time
import warnings

import opacus
import torch
from opacus import PrivacyEngine


def main(count, batch, hidden):
    # Opacus's hooks warn that the inputs need no gradient (they do not): not a problem.
    warnings.filterwarnings("ignore", message="Full backward hook")
    warnings.filterwarnings("ignore", message="Secure RNG turned off")
    torch.set_num_threads(1)
    torch.manual_seed(1)
    x = torch.rand(count, 1, 28, 28)
    y = torch.randint(0, 10, (count,))
    data = torch.utils.data.TensorDataset(x, y)

    def model():
        return torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(784, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))

    def epoch(net, optimizer, loader, loss_fn=None):
        loss_fn = loss_fn or torch.nn.CrossEntropyLoss()
        seen = 0
        start = time.perf_counter()
        for xb, yb in loader:
            if len(xb) == 0:
                continue
            optimizer.zero_grad()
            loss_fn(net(xb), yb).backward()
            optimizer.step()
            seen += len(xb)
        return seen / (time.perf_counter() - start)

    def plain():
        net = model()
        loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True)
        return epoch(net, torch.optim.SGD(net.parameters(), lr=0.01), loader)

    def private(mode):
        net = model()
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
        loader = torch.utils.data.DataLoader(data, batch_size=batch)
        settings = dict(
            module=net, optimizer=optimizer, data_loader=loader, noise_multiplier=1.0, max_grad_norm=1.0,
            poisson_sampling=True, grad_sample_mode=mode)
        if mode == "ghost":
            # Fast gradient clipping (Opacus >= 1.5): per-sample norms without per-sample gradients.
            net, optimizer, criterion, loader = PrivacyEngine().make_private(criterion=torch.nn.CrossEntropyLoss(), **settings)
            return epoch(net, optimizer, loader, criterion)
        net, optimizer, loader = PrivacyEngine().make_private(**settings)
        return epoch(net, optimizer, loader)

    plain(), private("hooks"), private("ghost")  # warm-up
    print(json.dumps({"sgd": plain(), "dp_sgd": private("hooks"), "dp_sgd_ghost": private("ghost"), "torch": torch.__version__, "opacus": opacus.__version__}))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
