"""tg.train.Trainer and its callbacks: hook order, stopping, schedules, clipping, logging,
main-process-only side effects and resuming from a Checkpoint."""
import math

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.data import DataLoader, TensorDataset
from tensorgrad.train import (Callback, Checkpoint, ClipGradNorm, EarlyStopping, Logger,
                              LRSchedulerCallback, ProgressBar, Trainer)


def _problem(seed=0, flip_dev=False):
    tg.manual_seed(seed)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Linear(3, 2)
    train = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, seed=5)
    dev = DataLoader(TensorDataset(X, 1 - y if flip_dev else y), batch_size=64)
    return model, train, dev


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, trainer):
        self.calls.append("train_begin")

    def on_epoch_begin(self, trainer):
        self.calls.append(f"epoch_begin {trainer.epoch}")

    def on_after_backward(self, trainer):
        self.calls.append("after_backward")

    def on_batch_end(self, trainer):
        self.calls.append("batch_end")

    def on_epoch_end(self, trainer):
        self.calls.append(f"epoch_end {trainer.logs['epoch']}")
        if trainer.logs["epoch"] == 2:
            trainer.stop_training = True

    def on_train_end(self, trainer):
        self.calls.append("train_end")


def test_hooks_run_in_order_and_a_callback_can_stop_the_run():
    model, train, dev = _problem()
    rec = Recorder()
    hist = tg.train.fit(model, nn.CrossEntropyLoss(), tg.optim.SGD(model.parameters(), lr=0.1),
                        train, dev, epochs=5, progress=False, callbacks=[rec])
    epoch = ["after_backward", "batch_end"] * 4  # 64 examples, batches of 16
    assert rec.calls == (["train_begin", "epoch_begin 0"] + epoch + ["epoch_end 1",
                         "epoch_begin 1"] + epoch + ["epoch_end 2", "train_end"])
    assert hist.epochs == [1, 2] and not hist.stopped_early
    with pytest.raises(TypeError, match="Callback"):
        Trainer(model, nn.CrossEntropyLoss(), tg.optim.SGD(model.parameters(), lr=0.1), train,
                callbacks=[lambda t: None])


def test_callbacks_run_by_order_history_first_checkpoint_last():
    model, train, dev = _problem()
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    cbs = [Checkpoint("unused"), ProgressBar(), LRSchedulerCallback(
        tg.optim.lr_scheduler.StepLR(opt, 1)), EarlyStopping(2), ClipGradNorm(1.0)]
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, train, dev, callbacks=cbs)
    assert [type(c).__name__ for c in trainer.callbacks] == [
        "History", "EarlyStopping", "LRSchedulerCallback", "ClipGradNorm", "ProgressBar",
        "Checkpoint"]


def test_reduce_lr_on_plateau_watches_the_value_it_is_told():
    model, train, dev = _problem(flip_dev=True)
    opt = tg.optim.SGD(model.parameters(), lr=0.5)
    sched = tg.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    # the training loss keeps falling, so watching it the rate never drops; the flipped dev
    # loss (the default watch) would halve it every epoch
    hist = Trainer(model, nn.CrossEntropyLoss(), opt, train, dev,
                   callbacks=[LRSchedulerCallback(sched, monitor="train_loss")]).fit(4)
    assert np.all(np.diff(hist.train_loss) < 0) and hist.lr == [0.5] * 4
    model, train, dev = _problem(flip_dev=True)
    opt = tg.optim.SGD(model.parameters(), lr=0.5)
    sched = tg.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    hist = Trainer(model, nn.CrossEntropyLoss(), opt, train, dev,
                   callbacks=[LRSchedulerCallback(sched)]).fit(4)
    assert hist.lr == [0.5, 0.5, 0.25, 0.125]
    with pytest.raises(ValueError, match="takes no value"):
        LRSchedulerCallback(tg.optim.lr_scheduler.StepLR(opt, 1), monitor="dev_loss")

    class DuckPlateau:  # any scheduler whose step takes a value gets one, whatever its class
        def __init__(self):
            self.seen = []

        def step(self, value):
            self.seen.append(value)

    duck = DuckPlateau()
    hist = Trainer(model, nn.CrossEntropyLoss(), opt, train,
                   callbacks=[LRSchedulerCallback(duck)]).fit(2)
    assert duck.seen == hist.train_loss  # no dev set: the training loss


def test_early_stopping_on_a_metric_and_tracking_only():
    model, train, dev = _problem(flip_dev=True)
    opt = tg.optim.SGD(model.parameters(), lr=0.5)
    es = EarlyStopping(patience=2, monitor="dev_accuracy", mode="max")
    hist = Trainer(model, nn.CrossEntropyLoss(), opt, train, dev, metrics=["accuracy"],
                   callbacks=[es]).fit(30)
    acc = hist.dev_metrics["accuracy"]
    best = int(np.argmax(acc))
    assert hist.stopped_early and len(hist) == best + 1 + 2 and hist.best_epoch == best + 1
    assert es.best == acc[best]
    with pytest.raises(ValueError, match="cannot monitor 'dev_f1'"):
        Trainer(model, nn.CrossEntropyLoss(), opt, train, dev, metrics=["accuracy"],
                callbacks=[EarlyStopping(1, monitor="dev_f1")]).fit(1)
    with pytest.raises(ValueError, match="needs a dev_loader"):
        Trainer(model, nn.CrossEntropyLoss(), opt, train, callbacks=[EarlyStopping(1)]).fit(1)
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(0)
    # patience=None never stops; restore_best ends the run on the best epoch's weights
    model, train, dev = _problem(flip_dev=True)
    snapshots = []

    class Snap(Callback):
        def on_epoch_end(self, trainer):
            snapshots.append(trainer.model.weight.detach().numpy().copy())

    hist = Trainer(model, nn.CrossEntropyLoss(), tg.optim.SGD(model.parameters(), lr=0.5),
                   train, dev, callbacks=[EarlyStopping(None), Snap()]).fit(6)
    best = int(np.argmin(hist.dev_loss))
    assert len(hist) == 6 and not hist.stopped_early and hist.best_epoch == best + 1
    np.testing.assert_array_equal(model.weight.detach().numpy(), snapshots[best])


def test_clip_grad_norm_runs_before_the_step():
    model, train, _ = _problem()
    norms = []

    class Norm(Callback):
        order = 60  # after ClipGradNorm (50)

        def on_after_backward(self, trainer):
            norms.append(math.sqrt(sum(float((p.grad.detach().numpy() ** 2).sum())
                                       for p in trainer.model.parameters())))

    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    Trainer(model, nn.CrossEntropyLoss(), opt, train,
            callbacks=[Norm(), ClipGradNorm(0.05)]).fit(1)
    assert len(norms) == 4 and max(norms) == pytest.approx(0.05, rel=1e-5)


def test_logger_and_main_process_only_side_effects(tmp_path):
    model, train, dev = _problem()
    lines = []
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    Trainer(model, nn.CrossEntropyLoss(), opt, train, dev, metrics=["accuracy"],
            callbacks=[Logger(lines.append, every=2)]).fit(3)
    assert [ln.split("  ")[0] for ln in lines] == ["epoch 2/3", "epoch 3/3"]
    assert "dev_loss" in lines[0] and "dev_accuracy" in lines[0] and lines[0].endswith("lr 0.1")
    # on a process that is not the main one: no lines, no bar, no file
    lines.clear()
    bars = []

    class BarSpy(Callback):
        order = 95  # after the ProgressBar (90) has set up (or not) its bar

        def on_epoch_end(self, trainer):
            bars.append(bar.bar)

    for main in (False, True):
        bar = ProgressBar(leave=False)
        Trainer(model, nn.CrossEntropyLoss(), opt, train, dev,
                callbacks=[Logger(lines.append), bar, BarSpy(), Checkpoint(tmp_path / "c")],
                is_main_process=main).fit(2)
        if not main:
            assert lines == [] and bars == [None, None] and not (tmp_path / "c").exists()
    assert len(lines) == 2 and bars[2] is not None and (tmp_path / "c").exists()
    with pytest.raises(ValueError, match="every"):
        Logger(every=0)


def test_trainer_resumes_from_its_checkpoint(tmp_path):
    def setup(seed):
        model, train, dev = _problem(seed)
        opt = tg.optim.Adam(model.parameters(), lr=0.05)
        sched = tg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
        return model, opt, train, dev, [LRSchedulerCallback(sched), EarlyStopping(None)]

    model, opt, train, dev, cbs = setup(0)
    full = Trainer(model, nn.CrossEntropyLoss(), opt, train, dev, callbacks=cbs).fit(4)
    want = model.weight.detach().numpy().copy()
    path = tmp_path / "run.ckpt"
    model, opt, train, dev, cbs = setup(0)
    Trainer(model, nn.CrossEntropyLoss(), opt, train, dev,
            callbacks=cbs + [Checkpoint(path)]).fit(2)
    model, opt, train, dev, cbs = setup(1)  # other initial weights and RNG
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, train, dev, callbacks=cbs)
    resumed = trainer.fit(4, resume_from=path)
    np.testing.assert_array_equal(model.weight.detach().numpy(), want)
    assert resumed.to_dict() == full.to_dict()
    assert cbs[0].scheduler.last_epoch == 4
