"""Data: cold fetch (read the source files, validate, write the cache) and warm cache load times.

    python bench/data.py [--source ../shared/data]

Cold fetches write into a throw-away project, so the real caches are untouched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    from kaggletk.data import fetch, load_dataset

    rows, records = [], []
    with tempfile.TemporaryDirectory(prefix="kaggletk-bench-data-") as tmp:
        project = Path(tmp)
        for comp_dir in (ROOT / "competitions").iterdir():
            if (comp_dir / "competition.py").exists():
                shutil.copytree(comp_dir, project / "competitions" / comp_dir.name, ignore=shutil.ignore_patterns("data", "tuned"))
        os.environ["KAGGLETK_HOME"] = str(project)
        for comp in ("fashion_mnist", "sign_mnist"):
            start = time.perf_counter()
            result = fetch(comp, args.source / comp)
            cold = time.perf_counter() - start
            warm = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                dataset = load_dataset(comp, "full")
                warm.append(time.perf_counter() - start)
            source_mb = sum(f.stat().st_size for f in (args.source / comp).glob("*") if f.is_file()) / 2**20
            records.append({"competition": comp, "cold_seconds": cold, "warm_seconds": warm, "n_train": dataset.n_train,
                            "n_test": dataset.n_test, "source_mb": source_mb})
            rows.append([comp, f"{dataset.n_train} / {dataset.n_test}", f"{source_mb:.1f}", cold, min(warm) * 1000])
            print(f"{comp}: cold fetch {cold:.2f}s, warm load {min(warm) * 1000:.1f} ms", flush=True)
    table = markdown_table(["competition", "train / test", "source MB (compressed)", "cold fetch s", "warm load ms (best of 5)"], rows)
    write_results("data", {"source": str(args.source), "competitions": records}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
