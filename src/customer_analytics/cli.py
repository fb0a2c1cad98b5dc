"""Command line: ``python -m customer_analytics run --config configs/default.yaml``.

Exit codes: 0 the run succeeded, 1 a stage failed (the message names the stage and
cell), 2 the configuration is invalid (the message names the key or file).
"""

from __future__ import annotations

import argparse
import logging
import sys

from customer_analytics.config import ConfigError, load_config, parse_overrides

log = logging.getLogger("customer_analytics.run")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m customer_analytics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a config's stages into reports/<run-id>/")
    run.add_argument("--config", required=True, help="YAML config, e.g. configs/default.yaml")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set source.path=data/raw/online_retail.xlsx",
    )
    run.add_argument("--fresh", action="store_true", help="recompute every stage, ignore the cache")
    run.add_argument("-v", "--verbose", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from customer_analytics.pipeline import engine
    from customer_analytics.pipeline.runner import Runner, configure_logging
    from customer_analytics.pipeline.runs import check_writable

    configure_logging(args.verbose)
    try:
        cfg = load_config(args.config, parse_overrides(args.overrides))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if problem := engine.missing(cfg.engine):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    for folder, key in ((cfg.reports_dir, "reports.dir"), (cfg.data_dir, "data.dir")):
        problem = check_writable(folder, key)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    result = Runner(cfg, fresh=args.fresh).run()
    if result.status != "ok":
        failed = [s for s in result.manifest["stages"] if s["status"] == "failed"]
        reason = failed[0]["error"] if failed else result.manifest.get("error", "see run.log")
        print(f"error: run {result.run_id} failed: {reason}", file=sys.stderr)
        print(f"log: {result.report_dir / 'run.log'}", file=sys.stderr)
        return 1
    print(f"report: {result.index}")
    return 0
