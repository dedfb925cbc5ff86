"""A report's plots: coverage against k (coverage.png), coverage with its band and both scaling fits,
selection without a verifier against coverage, cost against coverage with the frontier baselines,
and the effect of flaky tests. Inputs are report dicts (report.json), so a plot can be redrawn
from the file alone."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PLOT_NAME = "coverage.png"
FITS_PLOT_NAME = "coverage_fits.png"
SELECTION_PLOT_NAME = "selection.png"
COST_PLOT_NAME = "cost_coverage.png"
FLAKY_PLOT_NAME = "flaky.png"


def _new_figure() -> tuple[Figure, Axes]:
    import matplotlib  # lazy: reports are optional and matplotlib is slow to import

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))  # a bare Figure keeps no global pyplot state
    return fig, fig.subplots()


def _log2_axis(ax: Axes, ks: list[int], title: str, simulated: bool, legend_at: str = "lower right") -> None:
    from matplotlib.ticker import NullLocator

    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, labels=[str(k) for k in ks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("samples per problem (k)")
    ax.grid(True, alpha=0.3)
    ax.set_title(title + (" (simulated model)" if simulated else ""))
    ax.legend(loc=legend_at, fontsize="small")


def _predicted(section: dict[str, Any]) -> tuple[list[int], list[float]] | None:
    values = section.get("predicted")
    return None if not values else ([int(k) for k in values], list(values.values()))


def coverage_figure(report: dict[str, Any]) -> Figure:
    """Coverage against k on a log2 axis, majority vote as a dashed line."""
    import matplotlib  # lazy: reports are optional and matplotlib is slow to import

    matplotlib.use("Agg")  # headless: runs on machines without a display
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    fig = Figure(figsize=(7, 4.5))  # a bare Figure keeps no global pyplot state
    ax = fig.subplots()
    ks = [int(k) for k in report["pass_at_k"]]
    if ks:
        ax.plot(ks, list(report["pass_at_k"].values()), marker="o", label="coverage (pass@k)", clip_on=False)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, labels=[str(k) for k in ks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(min(ks) / 1.3, max(ks) * 1.3)
    else:
        ax.text(0.5, 0.5, "no attempts", ha="center", va="center", transform=ax.transAxes)
    if report["majority_vote"] is not None:
        ax.axhline(report["majority_vote"], linestyle="--", color="C1",
                   label=f"majority vote ({report['majority_vote']:.3f})")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("samples per problem (k)")
    ax.set_ylabel("coverage")
    ax.grid(True, alpha=0.3)
    ax.set_title(f"{report['run']}" + (" (simulated model)" if report["simulated"] else ""))
    if ks or report["majority_vote"] is not None:
        ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_coverage(report: dict[str, Any], path: Path) -> None:
    """The coverage plot as a PNG at 150 dpi."""
    # format given: write_report passes a temp name without a .png suffix
    coverage_figure(report).savefig(path, dpi=150, format="png")


def coverage_fits_figure(report: dict[str, Any]) -> Figure:
    """Observed coverage with its bootstrap band, the power law and the beta-binomial curve,
    the two fits carried on to 10x and 100x the samples (dotted: beyond the data)."""
    stats = report["statistics"]
    band = stats["coverage_band"]
    ks = band["ks"]
    fig, ax = _new_figure()
    ax.fill_between(ks, band["lo"], band["hi"], alpha=0.25, color="C0",
                    label=f"{round(100 * band['level'])}% band (problems resampled)")
    ax.plot(ks, [report["pass_at_k"][str(k)] for k in ks], marker="o", color="C0", label="coverage (pass@k)")
    for key, color, label in [("power_law", "C2", "power law exp(a k^b)"), ("beta_binomial", "C3", "beta-binomial")]:
        curve = _predicted(stats[key])
        if curve is None:
            continue
        inside = [i for i, k in enumerate(curve[0]) if k <= ks[-1]]
        ax.plot([curve[0][i] for i in inside], [curve[1][i] for i in inside], color=color, label=label)
        ax.plot(curve[0][inside[-1]:], curve[1][inside[-1]:], color=color, linestyle=":")
    all_ks = sorted(set(ks) | {int(k) for k in stats["extrapolated_ks"]})
    ax.set_ylabel("coverage")
    _log2_axis(ax, all_ks, f"{report['run']}: coverage and scaling fits", report["simulated"])
    fig.tight_layout()
    return fig


def selection_figure(report: dict[str, Any]) -> Figure:
    """Coverage against what picking one answer without a verifier achieves, at each k."""
    sel = report["statistics"]["selection"]
    fig, ax = _new_figure()
    ax.plot(sel["ks"], sel["coverage"], marker="o", label="coverage (a perfect verifier)")
    ax.plot(sel["ks"], sel["majority_vote"], marker="s", label="majority vote")
    if sel.get("best_of_k") is not None:
        ax.plot(sel["ks"], sel["best_of_k"], marker="^", label="reward model, best of k")
    if sel.get("weighted_vote") is not None:
        ax.plot(sel["ks"], sel["weighted_vote"], marker="v", label="reward-weighted vote")
    ax.set_ylabel(f"success rate (mean over {sel['n_subsets']} random k-subsets)")
    # Selection often stays flat near the bottom while coverage climbs: let the legend find room.
    _log2_axis(ax, sel["ks"], f"{report['run']}: selection vs. coverage", report["simulated"], legend_at="best")
    fig.tight_layout()
    return fig


def cost_coverage_figure(report: dict[str, Any]) -> Figure:
    """Coverage against what the run costs at k attempts per problem (log dollars), with each
    frontier baseline's single attempt: a point where its cost is known, a dashed level where not."""
    cost = report["cost"]
    curve = [row for row in cost["by_k"] if row["total_usd"] is not None]
    fig, ax = _new_figure()
    ax.plot([r["total_usd"] for r in curve], [r["coverage"] for r in curve], marker="o", color="C0",
            label=f"{report['model']}, k attempts per problem")
    for row in curve:
        ax.annotate(f"k={row['k']}", (row["total_usd"], row["coverage"]), textcoords="offset points",
                    xytext=(4, -10), fontsize="x-small", color="C0")
    for i, b in enumerate(cost["baselines"], start=1):
        label = f"{b['name']} (1 attempt)"
        if b["total_usd"] is not None:
            ax.scatter([b["total_usd"]], [b["resolve_rate"]], marker="*", s=120, color=f"C{i}", zorder=3, label=label)
        else:
            ax.axhline(b["resolve_rate"], linestyle="--", linewidth=1, color=f"C{i}", label=label + ", cost unknown")
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"${value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short log axis overlap
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel(f"cost of the run over {report['n_problems']} problems, USD (log scale)")
    ax.set_ylabel("coverage / share solved")
    ax.grid(True, alpha=0.3, which="both")
    ax.set_title(f"{report['run']}: cost against coverage" + (" (simulated model)" if report["simulated"] else ""))
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def flaky_figure(report: dict[str, Any]) -> Figure:
    """Coverage against k graded strictly, with flaky tests set aside, and without flaky problems."""
    flaky = report["flaky"]
    ks = [int(k) for k in report["pass_at_k"]]
    fig, ax = _new_figure()
    curves = [(report["pass_at_k"], "strict", "o"), (flaky["pass_at_k_flaky_tests_set_aside"], "flaky tests set aside", "s"),
              (flaky["pass_at_k_without_flaky_problems"],
               f"without the {len(flaky['flaky_problems'])} flaky problem(s)", "^")]
    for values, label, marker in curves:
        if values:
            ax.plot([int(k) for k in values], list(values.values()), marker=marker, label=label)
    ax.set_ylabel("coverage")
    _log2_axis(ax, ks, f"{report['run']}: effect of flaky tests", report["simulated"])
    fig.tight_layout()
    return fig


def plot_extra(report: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write both plots as PNGs into out_dir; nothing when the report has no statistics."""
    if not report.get("statistics"):
        return {}
    paths = {"fits": Path(out_dir) / FITS_PLOT_NAME, "selection": Path(out_dir) / SELECTION_PLOT_NAME}
    coverage_fits_figure(report).savefig(paths["fits"], dpi=150, format="png")
    selection_figure(report).savefig(paths["selection"], dpi=150, format="png")
    return paths
