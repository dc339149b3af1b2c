#!/usr/bin/env python3
"""Hyperparameter search for the graph VAE with Optuna.

Each trial writes a training config, runs the Rust trainer through its CLI
(`trainer train --config ...`) with a short budget, and reports the
validation reconstruction loss after every epoch (read from the run's
metrics.csv), so the median pruner can stop a bad trial early. The study
lives in SQLite: an interrupted search resumes where it stopped, and several
machines can share one study through one database.

Objective: validation reconstruction, nats per molecule (lower is better).
It measures what the latent-space work needs, whether z carries the molecule;
it is cheap to read after every epoch, which pruning needs; and sample
quality no longer rides on the KL term, because the prior that samples draw
from is fitted to the latents after training (model-core's prior.rs).

    python extras/tune.py --trials 16 --storage sqlite:///runs/tuning/study.db

writes every trial to results/tuning/trials.csv, the best configuration to
results/tuning/best.toml, and plots of the objective per trial and of the
parameters' importances to results/tuning/*.png.
"""

import argparse
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parent.parent


def trial_config(trial: optuna.Trial, args) -> str:
    """The trial's training settings as TOML (the trainer's TrainConfig)."""
    kl_weight = trial.suggest_float("kl_weight", 1e-4, 1e-1, log=True)
    learning_rate = trial.suggest_float("learning_rate", 3e-4, 3e-3, log=True)
    kl_anneal_epochs = trial.suggest_float("kl_anneal_epochs", 0.0, 2.0)
    gap_weight = trial.suggest_float("gap_weight", 0.1, 3.0, log=True)
    hidden = trial.suggest_categorical("hidden", [96, 128, 160, 192])
    latent = trial.suggest_categorical("latent", [16, 32, 64])
    layers = trial.suggest_int("layers", 2, 5)
    return f"""epochs = {args.epochs}
batch_size = 128
learning_rate = {learning_rate}
kl_weight = {kl_weight}
kl_anneal_epochs = {kl_anneal_epochs}
gap_weight = {gap_weight}
grad_clip_norm = 5.0
seed = {args.seed}
max_train = {args.max_train}
max_valid = {args.max_valid}

[model]
hidden = {hidden}
latent = {latent}
layers = {layers}
max_atoms = 9
token_embedding = 32

[prior]
components = {args.prior_components}
"""


def read_epochs(metrics: Path) -> list[float]:
    """Validation reconstruction per finished epoch."""
    if not metrics.exists():
        return []
    with metrics.open() as f:
        return [float(row["valid_reconstruction"]) for row in csv.DictReader(f)]


def objective(trial: optuna.Trial, args) -> float:
    run = Path(args.runs) / f"trial_{trial.number:03d}"
    run.mkdir(parents=True, exist_ok=True)
    config = run / "trial.toml"
    config.write_text(trial_config(trial, args))
    command = [args.trainer, "train", "--config", str(config), "--out", str(run),
               "--data-dir", args.data_dir]
    log = (run / "train.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    reported = 0
    try:
        while True:
            done = process.poll() is not None
            values = read_epochs(run / "metrics.csv")
            for epoch in range(reported, len(values)):
                trial.report(values[epoch], epoch + 1)
                reported = epoch + 1
                if trial.should_prune():
                    raise optuna.TrialPruned(f"epoch {epoch + 1}: {values[epoch]:.3f} nats")
            if done:
                break
            time.sleep(1.0)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
        log.close()
    if process.returncode != 0 or not values:
        raise RuntimeError(f"trial {trial.number}: the trainer failed; see {run / 'train.log'}")
    return values[-1]


def write_results(study: optuna.Study, out: Path) -> None:
    """Trials as CSV, the best configuration as a trainer config, and plots."""
    out.mkdir(parents=True, exist_ok=True)
    frame = study.trials_dataframe(attrs=("number", "value", "state", "params",
                                          "duration", "intermediate_values"))
    frame.to_csv(out / "trials.csv", index=False)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        return
    best = study.best_trial
    # A full training config: `trainer train --config results/tuning/best.toml`
    # trains the best trial's settings on the whole split for the default epochs.
    full = argparse.Namespace(epochs=30, max_train=0, max_valid=2000, seed=1,
                              prior_components=64)
    header = (f"# best of {len(complete)} complete trials (trial {best.number}): valid "
              f"reconstruction {best.value:.4f} nats/molecule after a short budget;\n"
              f"# here with the default 30 epochs on the whole training split\n")
    body = trial_config(optuna.trial.FixedTrial(best.params), full)
    (out / "best.toml").write_text(header + body)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as views

    def save(plot, name: str) -> None:
        plot(study)
        plt.gcf().set_size_inches(8, 5)
        plt.tight_layout()
        plt.savefig(out / name, dpi=110)
        plt.close("all")

    save(views.plot_optimization_history, "objective_per_trial.png")
    if len(complete) >= 2:
        save(views.plot_param_importances, "param_importances.png")
    save(views.plot_intermediate_values, "epochs_per_trial.png")

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=16, help="trials to add to the study")
    parser.add_argument("--storage", default="sqlite:///runs/tuning/study.db",
                        help="Optuna storage URL; share one database to search from several machines")
    parser.add_argument("--study", default="graph-vae-reconstruction")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per trial")
    parser.add_argument("--max-train", type=int, default=20000, help="training molecules per trial")
    parser.add_argument("--max-valid", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0, help="seeds the sampler and every trial's training")
    parser.add_argument("--trainer", default=str(ROOT / "target/release/trainer"))
    parser.add_argument("--data-dir", default=str(ROOT / "data"))
    parser.add_argument("--runs", default=str(ROOT / "runs/tuning"))
    parser.add_argument("--results", default=str(ROOT / "results/tuning"))
    # Trials skip the prior fit: the objective does not read it.
    parser.set_defaults(prior_components=0)
    args = parser.parse_args()
    if not Path(args.trainer).exists():
        print(f"no trainer at {args.trainer}; build it with `cargo build --release -p trainer`",
              file=sys.stderr)
        return 2
    if args.storage.startswith("sqlite:///"):
        Path(args.storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=args.study, storage=args.storage, load_if_exists=True, direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=args.seed, n_startup_trials=6),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1),
    )
    study.optimize(lambda t: objective(t, args), n_trials=args.trials)
    write_results(study, Path(args.results))
    print(f"best: {study.best_value:.4f} nats/molecule with {study.best_params}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
