"""Benchmark: metrics.bgnbd / metrics.gamma_gamma against lifetimes 0.11.3.

Simulates BG/NBD + Gamma-Gamma customers from the CDNOW estimates (first
purchases spread over 12 weeks, ages on a daily grid as
``summary_from_transactions`` produces them), then times, for each
implementation, the whole pipeline: BG/NBD fit, Gamma-Gamma fit on the repeat
buyers, expected purchases in the next 39 weeks, P(alive), expected spend and
a 12-month CLV. Each stage is timed over several runs (median reported); peak
memory comes from one extra run under ``tracemalloc`` (numpy reports its
buffers to it). Parameters of the two implementations must agree to 1e-3
(relative).

Usage::

    .venv/bin/python bench/bench_bgnbd.py                       # 100k and 1M
    .venv/bin/python bench/bench_bgnbd.py --sizes 100000 --runs 3

Writes ``bench/results_bgnbd.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import scipy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metrics.bgnbd import BetaGeoFitter, simulate_bgnbd_summary  # noqa: E402
from metrics.gamma_gamma import GammaGammaFitter, simulate_gamma_gamma_spend  # noqa: E402

#: BG/NBD and Gamma-Gamma estimates on the CDNOW sample (tests/test_*.py).
BGNBD_PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
SPEND_PARAMS = {"p": 6.25, "q": 3.74, "v": 15.44}
STAGES = [
    "fit BG/NBD",
    "fit Gamma-Gamma",
    "E[purchases, 39 wk]",
    "P(alive)",
    "E[spend]",
    "CLV 12 months",
]


def simulate(n: int, seed: int, daily_ages: bool = True) -> pd.DataFrame:
    """n customers: BG/NBD summary in weeks and Gamma-Gamma mean spend.

    With ``daily_ages`` T is a whole number of days (as from transaction dates);
    otherwise continuous, so no two customers share an (x, T) pair.
    """
    rng = np.random.default_rng(seed)
    if daily_ages:
        ages = rng.integers(190, 273, size=n) / 7.0  # 27-39 weeks, whole days
    else:
        ages = rng.uniform(190 / 7, 273 / 7, size=n)
    data = simulate_bgnbd_summary(**BGNBD_PARAMS, T=ages, rng=rng)
    data["monetary_value"] = simulate_gamma_gamma_spend(
        **SPEND_PARAMS, frequency=data["frequency"], rng=rng
    )
    return data


def ours(data: pd.DataFrame, timings: dict[str, float]) -> dict:
    x, t_x, T, m = data["frequency"], data["recency"], data["T"], data["monetary_value"]
    with _stage(timings, "fit BG/NBD"):
        purchases = BetaGeoFitter().fit(x, t_x, T)
    with _stage(timings, "fit Gamma-Gamma"):
        spend = GammaGammaFitter().fit(x, m)
    with _stage(timings, "E[purchases, 39 wk]"):
        expected = purchases.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, T)
    with _stage(timings, "P(alive)"):
        alive = purchases.conditional_probability_alive(x, t_x, T)
    with _stage(timings, "E[spend]"):
        average = spend.conditional_expected_average_profit(x, m)
    with _stage(timings, "CLV 12 months"):
        clv = spend.customer_lifetime_value(purchases, x, t_x, T, m, time_months=12, unit="W")
    return {
        "bgnbd": purchases.params_,
        "spend": spend.params_,
        "expected": np.asarray(expected),
        "alive": np.asarray(alive),
        "average": np.asarray(average),
        "clv": np.asarray(clv),
    }


def theirs(data: pd.DataFrame, timings: dict[str, float]) -> dict:
    from lifetimes import BetaGeoFitter as LifetimesBetaGeo
    from lifetimes import GammaGammaFitter as LifetimesGammaGamma

    x, t_x, T, m = data["frequency"], data["recency"], data["T"], data["monetary_value"]
    with _stage(timings, "fit BG/NBD"):
        purchases = LifetimesBetaGeo().fit(x, t_x, T)
    with _stage(timings, "fit Gamma-Gamma"):
        repeat = x > 0  # lifetimes rejects monetary_value == 0
        spend = LifetimesGammaGamma().fit(x[repeat], m[repeat])
    with _stage(timings, "E[purchases, 39 wk]"):
        expected = purchases.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, T)
    with _stage(timings, "P(alive)"):
        alive = purchases.conditional_probability_alive(x, t_x, T)
    with _stage(timings, "E[spend]"):
        average = spend.conditional_expected_average_profit(x, m)
    with _stage(timings, "CLV 12 months"):
        # lifetimes: 4.345 weeks per month (ours: 365.25 / 12 / 7 = 4.348)
        clv = spend.customer_lifetime_value(purchases, x, t_x, T, m, time=12, freq="W")
    return {
        "bgnbd": purchases.params_.to_dict(),
        "spend": spend.params_.to_dict(),
        "expected": np.asarray(expected),
        "alive": np.asarray(alive),
        "average": np.asarray(average),
        "clv": np.asarray(clv),
    }


class _stage:
    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = time.perf_counter() - self.start


def measure(
    pipelines: dict[str, tuple[Callable[[pd.DataFrame, dict], dict], int]], data: pd.DataFrame
) -> dict[str, tuple[dict[str, float], float, dict]]:
    """Per pipeline: median stage timings, peak traced memory (MiB), last results.

    Runs of the pipelines are interleaved (ours, lifetimes, ours, ...) so that
    load from other jobs on the machine falls on both alike. ``cpu`` is the
    process CPU time of a whole run.
    """
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in pipelines}
    results: dict[str, dict] = {}
    for run in range(max(runs for _, runs in pipelines.values())):
        for name, (pipeline, runs) in pipelines.items():
            if run >= runs:
                continue
            timings: dict[str, float] = {}
            cpu_start = time.process_time()
            results[name] = pipeline(data, timings)
            timings["cpu"] = time.process_time() - cpu_start
            timings["total"] = sum(timings[s] for s in STAGES)
            samples[name].append(timings)
    out = {}
    for name, (pipeline, _) in pipelines.items():
        tracemalloc.start()
        pipeline(data, {})
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        medians = {k: statistics.median(s[k] for s in samples[name]) for k in samples[name][0]}
        out[name] = (medians, peak / 2**20, results[name])
    return out


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def max_relative_difference(a: dict[str, float], b: dict[str, float]) -> float:
    return max(abs(a[k] - b[k]) / abs(b[k]) for k in a)


def machine_info() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    import lifetimes

    load = os.getloadavg()
    return [
        f"- CPU: {cpu}; `nproc` = {nproc}",
        f"- load average at start: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        "(1 / 5 / 15 min; other jobs were running on this shared machine)",
        f"- Python {platform.python_version()} ({platform.platform()})",
        f"- numpy {np.__version__}, scipy {scipy.__version__}, pandas {pd.__version__}, "
        f"lifetimes {lifetimes.__version__}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per size (ours)")
    parser.add_argument("--lifetimes-runs", type=int, default=3)
    parser.add_argument(
        "--lifetimes-max-size", type=int, default=1_000_000,
        help="skip lifetimes above this many customers",
    )
    parser.add_argument(
        "--continuous-max-size", type=int, default=100_000,
        help="also run with continuous ages T up to this many customers",
    )
    parser.add_argument("--seed", type=int, default=20050101)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results_bgnbd.md")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    lines = ["# BG/NBD + Gamma-Gamma benchmark", "", *machine_info(), ""]
    lines += [
        "Data: simulated from the CDNOW estimates (r, alpha, a, b = "
        f"{', '.join(str(v) for v in BGNBD_PARAMS.values())}; p, q, v = "
        f"{', '.join(str(v) for v in SPEND_PARAMS.values())}), ages T of 27-39 weeks on a "
        "daily grid, `np.random.default_rng(seed)`. Pipeline: BG/NBD fit, Gamma-Gamma fit "
        "(repeat buyers), E[purchases in 39 weeks], P(alive), E[spend], 12-month CLV for "
        "every customer. Times are medians of wall-clock seconds (runs of the two "
        "implementations interleaved), plus the median CPU time of a whole run; memory is the "
        "tracemalloc peak of one more run.",
        "",
        "Our predictions evaluate the hypergeometric term once per distinct "
        "(x, t / (alpha + T)) pair, which pays off when ages come from dates (daily grid); "
        "the 'continuous ages' section shows the case where every customer is distinct.",
        "",
    ]
    headline_at = len(lines)
    headlines: list[str] = []
    cases = [(n, True) for n in args.sizes]
    cases += [(n, False) for n in args.sizes if n <= args.continuous_max_size]
    for n, daily in cases:
        data = simulate(n, args.seed + n, daily_ages=daily)
        ages = "daily ages" if daily else "continuous ages"
        repeaters = int((data["frequency"] > 0).sum())
        print(f"{n:,} customers, {ages}: {repeaters:,} repeat buyers", flush=True)
        with_lifetimes = n <= args.lifetimes_max_size
        pipelines = {"ours": (ours, args.runs)}
        if with_lifetimes:
            pipelines["lifetimes"] = (theirs, args.lifetimes_runs)
        measured = measure(pipelines, data)
        mine, my_peak, my_result = measured["ours"]
        print(f"  ours: {mine['total']:.2f} s, peak {my_peak:.0f} MiB", flush=True)
        load = os.getloadavg()[0]
        lines += [
            f"## {n:,} customers, {ages} ({repeaters:,} repeat buyers)",
            "",
            f"Load average (1 min) after the runs: {load:.2f}.",
            "",
        ]
        if with_lifetimes:
            base, base_peak, base_result = measured["lifetimes"]
            print(f"  lifetimes: {base['total']:.2f} s, peak {base_peak:.0f} MiB", flush=True)
            bg = max_relative_difference(my_result["bgnbd"], base_result["bgnbd"])
            gg = max_relative_difference(my_result["spend"], base_result["spend"])
            lines += [
                f"| stage | ours ({_runs(args.runs)}) | lifetimes ({_runs(args.lifetimes_runs)}) "
                "| speed-up |",
                "|---|---:|---:|---:|",
            ]
            for stage in [*STAGES, "total", "cpu"]:
                label = "total CPU time" if stage == "cpu" else stage
                lines.append(
                    f"| {label} | {mine[stage]:.3f} | {base[stage]:.3f} | "
                    f"{base[stage] / mine[stage]:.1f}x |"
                )
            lines += [
                f"| peak memory (MiB) | {my_peak:.0f} | {base_peak:.0f} | |",
                "",
                f"- BG/NBD parameters: max relative difference {bg:.1e} "
                f"({'OK' if bg <= 1e-3 else 'FAIL'}, limit 1e-3); ours "
                + ", ".join(f"{k} = {v:.4f}" for k, v in my_result["bgnbd"].items()),
                f"- Gamma-Gamma parameters: max relative difference {gg:.1e} "
                f"({'OK' if gg <= 1e-3 else 'FAIL'}, limit 1e-3); ours "
                + ", ".join(f"{k} = {v:.4f}" for k, v in my_result["spend"].items()),
                "- predictions, max abs difference: E[purchases] "
                f"{np.max(np.abs(my_result['expected'] - base_result['expected'])):.1e}, "
                f"P(alive) {np.max(np.abs(my_result['alive'] - base_result['alive'])):.1e}, "
                f"E[spend] {np.max(np.abs(my_result['average'] - base_result['average'])):.1e}; "
                "CLV max relative difference "
                f"{np.max(np.abs(my_result['clv'] / base_result['clv'] - 1)):.1e} (lifetimes "
                "uses 4.345 weeks per month, ours 4.348)",
                "",
            ]
            headlines.append(
                f"- {n:,} customers, {ages}: whole pipeline {mine['total']:.2f} s (ours) vs "
                f"{base['total']:.2f} s (lifetimes), {base['total'] / mine['total']:.1f}x faster; "
                f"BG/NBD fit {base['fit BG/NBD'] / mine['fit BG/NBD']:.1f}x, 12-month CLV "
                f"{base['CLV 12 months'] / mine['CLV 12 months']:.1f}x; parameters agree to "
                f"{max(bg, gg):.0e}"
            )
            if bg > 1e-3 or gg > 1e-3:
                print("  PARAMETERS DISAGREE", flush=True)
        else:
            headlines.append(
                f"- {n:,} customers, {ages}: whole pipeline {mine['total']:.2f} s (ours; "
                "lifetimes not run)"
            )
            lines += [
                "lifetimes not run at this size "
                f"(`--lifetimes-max-size {args.lifetimes_max_size}`).",
                "",
                f"| stage | ours ({_runs(args.runs)}) |",
                "|---|---:|",
                *(f"| {stage} | {mine[stage]:.3f} |" for stage in [*STAGES, "total"]),
                f"| total CPU time | {mine['cpu']:.3f} |",
                f"| peak memory (MiB) | {my_peak:.0f} |",
                "",
                "- BG/NBD parameters: "
                + ", ".join(f"{k} = {v:.4f}" for k, v in my_result["bgnbd"].items()),
                "",
            ]
        summary = ["## Headline", "", *headlines, ""] if headlines else []
        text = lines[:headline_at] + summary + lines[headline_at:]
        args.output.write_text("\n".join(text) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
