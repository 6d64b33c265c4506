"""Write paper.md from paper/paper.in.md: every number comes from the collected results.

`python paper/write_paper.py TEMPLATE.md RESULTS_DIR TABLES_DIR OUT.md` replaces
- `{{table:NAME}}` with TABLES_DIR/NAME.md,
- `{{figure:NAME}}` with the image figures/NAME.png (relative to OUT.md),
- `{{KIND:ARG:...}}` with a number computed here from RESULTS_DIR/*.csv (see VALUES); a number the
  profile did not produce (e.g. p = 0.01 in the quick profile) reads "n/a" and is listed on stderr.
"""

import importlib.util
import re
import sys
from pathlib import Path

import pandas as pd

from deepad.report import with_methods
from deepad.store import write_text

TABLES = Path(__file__).resolve().parent / "tables"


def table_script(name: str):
    """paper/tables/tab_NAME.py as a module: its tests and cited numbers, not a copy of them."""
    spec = importlib.util.spec_from_file_location(f"tab_{name}", TABLES / f"tab_{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COLUMNS = ["dataset", "contamination", "nominal", "seed", "method", "auroc", "ap", "input_size"]


def load(results_dir: Path, name: str) -> pd.DataFrame:
    """A collected results file with its methods; empty if the profile did not make it."""
    path = results_dir / f"{name}.csv"
    if not path.is_file():
        return pd.DataFrame(columns=[*COLUMNS, "seconds_total", "model_cache"])
    return with_methods(pd.read_csv(path))[0]


def values(results_dir: Path) -> dict[str, str]:
    """Every number the template may cite, by key."""
    ovr, ugly = load(results_dir, "ovr"), load(results_dir, "ugly_digits")
    clutter, size = load(results_dir, "clutter_mnist"), load(results_dir, "pretrained_size")
    out: dict[str, str] = {}
    cells = ovr.groupby(["dataset", "contamination", "method"])
    for (d, p, m), part in cells:
        out[f"auroc:{d}:{p:g}:{m}"] = f"{part['auroc'].mean():.3f}"
        out[f"ap:{d}:{p:g}:{m}"] = f"{part['ap'].mean():.3f}"
    if len(ovr):  # the paired tests of tab_wilcoxon.py, by "wins:DATASET:P:A:B" / "pval:..."
        for (d, p, comparison), r in table_script("wilcoxon").table(ovr).iterrows():
            a, b = comparison.split(" vs ")
            out[f"wins:{d}:{p:g}:{a}:{b}"] = f"{int(r['wins'])}/{int(r['pairs'])}"
            out[f"pval:{d}:{p:g}:{a}:{b}"] = f"{r['p-value']:.2g}"
    published = table_script("published")
    for method, numbers in published.PUBLISHED.items():  # cited, with their source, in that table
        for dataset, value in zip(published.DATASETS, numbers, strict=True):
            out[f"published:{dataset}:{method}"] = f"{value:.3f}"
    for m, part in ovr.groupby("method"):
        out[f"auroc_all:{m}"] = f"{part['auroc'].mean():.3f}"
    out["runs:ovr"] = str(len(ovr))
    out["models:ovr"] = str(int((ovr["model_cache"] == "miss").sum()))
    out["classes:ovr"] = str(ovr["nominal"].nunique())
    out["seeds:ovr"] = str(ovr["seed"].nunique())
    out["ps:ovr"] = ", ".join(f"{p:g}" for p in sorted(ovr["contamination"].unique()))
    out["runs:all"] = str(len(ovr) + len(ugly) + len(clutter) + len(size))
    frames = [t for t in (ovr, ugly, clutter, size) if len(t)]
    libraries = sorted({c for t in frames for c in t.columns if c.startswith("version_")})
    if libraries:  # "numpy 2.4.6, torch 2.13.0+cpu": every version any run was made with
        out["versions:all"] = ", ".join(
            c.removeprefix("version_")
            + " "
            + " / ".join(sorted({str(v) for t in frames if c in t for v in t[c].dropna()}))
            for c in libraries
        )
    cpu = sum(t["seconds_total"].sum() for t in (ovr, ugly, clutter, size))
    out["cpu_minutes:all"] = f"{cpu / 60:.0f}"
    for m, part in clutter.groupby("method") if len(clutter) else []:
        for metric in ("auroc", "clutter_false_alarm_share", "auroc_vs_clutter"):
            out[f"clutter:{metric}:{m}"] = f"{part[metric].mean():.3f}"
    out["clutter:runs"] = str(len(clutter))
    for (s, m), part in size.groupby(["input_size", "method"]):
        out[f"size:auroc:{s}:{m}"] = f"{part['auroc'].mean():.3f}"
        out[f"size:seconds:{s}:{m}"] = f"{part['seconds_features'].mean():.1f}"
    return out


def fill(template: str, tables_dir: Path, numbers: dict[str, str]) -> tuple[str, list[str]]:
    missing: list[str] = []

    def one(match: re.Match) -> str:
        key = match.group(1)
        kind, _, name = key.partition(":")
        if kind == "table":
            return (tables_dir / f"{name}.md").read_text().strip()
        if kind == "figure":
            return f"![{name}](figures/{name}.png)"
        if key not in numbers:
            missing.append(key)
            return "n/a"
        return numbers[key]

    return re.sub(r"\{\{([^{}]+)\}\}", one, template), missing


def main() -> None:
    template, results_dir, tables_dir, out = map(Path, sys.argv[1:5])
    text, missing = fill(template.read_text(), tables_dir, values(results_dir))
    if missing:  # e.g. the quick profile: say so before a reader trusts the prose
        text = (
            f"> **Partial results**: {len(missing)} numbers the text cites are not in "
            f"`{results_dir}` (shown as n/a), and the discussion was written for the full "
            "profile's results (`make reproduce`). Read the tables and figures, not the prose.\n\n"
            + text
        )
    write_text(out, text)
    for key in missing:
        print(
            f"write_paper: no result for {{{{{key}}}}} in {results_dir}: wrote n/a", file=sys.stderr
        )
    print(f"wrote {out} ({len(missing)} numbers n/a)")


if __name__ == "__main__":
    main()
