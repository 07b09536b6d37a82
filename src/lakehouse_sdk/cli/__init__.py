"""The ``lakehouse`` command: a thin layer over the public API.

Every command builds a :class:`~lakehouse_sdk.Lakehouse` (or the local stack) from the usual settings,
calls the public API and renders text or JSON. One handler turns a :class:`LakehouseError` into a clear
message on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from lakehouse_sdk.endpoints import security_line
from lakehouse_sdk.errors import ConfigurationError, LakehouseError, redact
from lakehouse_sdk.lakehouse import Lakehouse

__all__ = ["main"]


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return value


def _lakehouse(args: argparse.Namespace) -> Lakehouse:
    overrides: dict[str, Any] = {}
    if getattr(args, "profile", None):
        overrides["profile"] = args.profile
    return Lakehouse(**overrides)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


# -- local stack ------------------------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> int:
    if args.kube:
        return cmd_provision(args)
    from lakehouse_sdk.local.runtime import LocalStack

    stack = LocalStack(_lakehouse(args).settings)
    report = stack.up(progress=not args.quiet)
    print(report)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from lakehouse_sdk.local.runtime import LocalStack

    stack = LocalStack(_lakehouse(args).settings)
    print(stack.down(purge=args.purge))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    if args.kube:
        rows = _lakehouse(args).kube_status()
        if args.json:
            _print_json([row.__dict__ for row in rows])
        else:
            for row in rows:
                print(row)
        return 0 if all(row.ready for row in rows) else 3
    from lakehouse_sdk.local.runtime import LocalStack

    status = LocalStack(_lakehouse(args).settings).status()
    if args.json:
        _print_json([s.to_dict() for s in status])
    else:
        from lakehouse_sdk.local.runtime import format_status

        print(format_status(status))
    return 0 if all(s.running for s in status) else 3


def cmd_logs(args: argparse.Namespace) -> int:
    from lakehouse_sdk.local.runtime import LocalStack

    stack = LocalStack(_lakehouse(args).settings)
    text = stack.logs(args.service, lines=args.lines)
    if text:
        print(text, flush=True)
    if args.follow:
        for line in stack.follow(args.service):
            print(line, flush=True)
    return 0


def cmd_artifacts(args: argparse.Namespace) -> int:
    from lakehouse_sdk.local.artifacts import Artifacts

    components = Artifacts(_lakehouse(args).settings).components(progress=not args.quiet)
    if args.json:
        _print_json([component.to_dict() for component in components])
    else:
        from lakehouse_sdk.local.sources import format_components

        print(format_components(components))
    return 0


# -- checks and configuration ---------------------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace) -> int:
    lh = _lakehouse(args)
    report = lh.health(timeout=args.timeout)
    if args.json:
        _print_json({**report.to_dict(), "secure": lh.settings.secure})
    else:
        print(f"{security_line(lh.settings)}\n{report}")
    return 0 if report.ok else 1


def cmd_config(args: argparse.Namespace) -> int:
    settings = _lakehouse(args).settings
    if args.json:
        _print_json([row.__dict__ for row in settings.explain()])
    else:
        print(settings.explain_text())
    return 0


def cmd_endpoints(args: argparse.Namespace) -> int:
    lh = _lakehouse(args)
    endpoints = lh.endpoints()
    if not endpoints and not args.json:
        print(
            f"no endpoints: mode is {lh.settings.mode} ({lh.settings.source_of('mode')}) and no "
            "LAKEHOUSE_ENDPOINTS__<SERVICE> URL is set. Set one per service, or choose mode auto, nodeport or "
            "in-cluster."
        )
        return 0
    if args.json:
        _print_json({k: {"url": e.url, "mode": e.mode, "reason": e.reason} for k, e in endpoints.items()})
    else:
        width = max(map(len, endpoints))
        for key, endpoint in endpoints.items():
            print(f"{key:<{width}}  {endpoint.url:<36}  {endpoint.reason}")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    from lakehouse_sdk.envvars import export_lines

    lh = _lakehouse(args)
    print(export_lines(lh.settings, lh.endpoint, show_secrets=args.show_secrets))
    return 0


def cmd_credentials(args: argparse.Namespace) -> int:
    settings = _lakehouse(args).settings
    if args.kube:
        from lakehouse_sdk.kube.manage import provisioned_settings

        settings = provisioned_settings(settings)
        print(f"credentials of the stack provisioned in namespace {settings.namespace!r} (from its Secret)")
    rows = {r.setting: r for r in settings.explain()}
    if args.show is not None:
        if args.show not in rows:
            raise LakehouseError(f"unknown setting {args.show!r}; try s3.secret_key or postgres.password")
        value = settings.value_at(*args.show.split("."))
        print(value.get_secret_value() if hasattr(value, "get_secret_value") else value)
        return 0
    for name in ("s3.access_key", "s3.secret_key", "postgres.user", "postgres.password", "trino.user"):
        print(f"{name:<18} {rows[name].value:<10} ({rows[name].source})")
    print("\nShow one value with: lakehouse credentials --show s3.secret_key")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    table = _lakehouse(args).query(args.query, catalog=args.catalog, schema=args.schema, output="arrow")
    frame = table.to_pandas()
    if args.format == "json":
        print(frame.to_json(orient="records", date_format="iso"))
    elif args.format == "csv":
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL)
        print(buffer.getvalue(), end="")
    else:
        print(frame.to_string(index=False) if len(frame.columns) else "(no columns)")
        print(f"({len(frame)} row{'s' if len(frame) != 1 else ''})")
    return 0


# -- Kubernetes ----------------------------------------------------------------------------------------------


def _provision_options(args: argparse.Namespace) -> Any:
    from lakehouse_sdk.cli.kube_args import options_from_args

    return options_from_args(args).for_settings(_lakehouse(args).settings)


def cmd_render(args: argparse.Namespace) -> int:
    from lakehouse_sdk.cli.kube_args import render_text

    print(render_text(args, _provision_options(args)), end="")
    return 0


def cmd_rotate_credentials(args: argparse.Namespace) -> int:
    from lakehouse_sdk.kube.rotate import rotate_credentials

    print(rotate_credentials(_provision_options(args), settings=_lakehouse(args).settings, progress=print))
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    from lakehouse_sdk.kube.provision import provision

    quiet = getattr(args, "quiet", False)
    result = provision(_provision_options(args), settings=_lakehouse(args).settings, progress=None if quiet else print)
    print(result)
    return 0


def cmd_teardown(args: argparse.Namespace) -> int:
    from lakehouse_sdk.kube.provision import teardown

    print(
        teardown(
            _provision_options(args), settings=_lakehouse(args).settings, delete_data=args.delete_data, progress=print
        )
    )
    return 0


def cmd_scale(args: argparse.Namespace) -> int:
    from lakehouse_sdk.kube.options import ProvisionOptions

    if args.spark_workers is None and args.trino_workers is None:
        raise ConfigurationError("lakehouse scale: say what to scale: --spark-workers N and/or --trino-workers N")
    lh = _lakehouse(args)
    if args.namespace:
        lh = Lakehouse(lh.settings.with_overrides(namespace=args.namespace))
    options = ProvisionOptions.build(namespace=lh.settings.namespace, timeout=args.timeout)
    with lh:
        if args.spark_workers is not None:
            lh.scale_workers(args.spark_workers, options=options)
            print(f"spark-worker: {args.spark_workers} worker(s) registered at the Spark master")
        if args.trino_workers is not None:
            lh.scale_trino_workers(args.trino_workers, options=options)
            print(f"trino-worker: {args.trino_workers} worker(s) active in system.runtime.nodes")
    return 0


def _add_provision_args(p: argparse.ArgumentParser) -> None:
    try:
        from lakehouse_sdk.cli.kube_args import add_cli_arguments
    except ImportError:  # pragma: no cover - the kube package is part of the wheel
        return
    add_cli_arguments(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lakehouse", description="Run and use a small data lakehouse.")
    parser.add_argument("--profile", help="settings profile from the config file")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("up", help="start the stack (--local processes, or --kube on a cluster)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", default=True, help="local processes (default)")
    where.add_argument("--kube", action="store_true", help="provision on Kubernetes (same as `provision`)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    _add_provision_args(p)
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("down", help="stop the local stack (data is kept unless --purge)")
    p.add_argument("--purge", action="store_true", help="also delete the stack's data and logs")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("status", help="state of each local service (exit 3 if one is down)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--kube", action="store_true", help="the provisioned stack on Kubernetes instead")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("logs", help="the tail of one local service's log")
    p.add_argument("service")
    p.add_argument("-n", "--lines", type=_count, default=50, help="lines to show (0: none, with -f only new ones)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines (Ctrl-C stops)")
    p.set_defaults(func=cmd_logs)

    p = sub.add_parser(
        "artifacts",
        aliases=["components"],
        help="find, download and cache what the local stack runs; show each one's version and source",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_artifacts)

    p = sub.add_parser("doctor", help="check every service for real (exit 1 on failure)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--timeout", type=_positive_float, default=None, help="seconds per check (positive)")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("config", help="every effective setting and where it came from")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("endpoints", help="resolved endpoints and how they were chosen")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_endpoints)

    p = sub.add_parser("env", help="export lines for the aws CLI, psql, trino CLI, pyiceberg and Spark")
    p.add_argument("--show-secrets", action="store_true", help="inline secret values instead of a command")
    p.set_defaults(func=cmd_env)

    p = sub.add_parser("credentials", help="which credentials are in use (values only with --show)")
    p.add_argument("--show", metavar="SETTING", help="print one value, e.g. s3.secret_key")
    p.add_argument("--kube", action="store_true", help="the provisioned stack's credentials, read from its Secret")
    p.set_defaults(func=cmd_credentials)

    p = sub.add_parser("sql", help="run a query on Trino and print the result")
    p.add_argument("query")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--catalog")
    p.add_argument("--schema")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("render", help="print the Kubernetes YAML for a set of options")
    _add_provision_args(p)
    p.add_argument(
        "--rbac",
        metavar="KIND:[NAMESPACE/]NAME",
        help="instead: the Role and ClusterRole provision() needs, bound to a subject "
        "(ServiceAccount:ci/deployer, User:alice, Group:data-platform)",
    )
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("provision", help="deploy the stack on Kubernetes and wait until it is ready")
    _add_provision_args(p)
    p.set_defaults(func=cmd_provision)

    p = sub.add_parser("rotate-credentials", help="new generated credentials for a provisioned stack (rolls it)")
    _add_provision_args(p)
    p.set_defaults(func=cmd_rotate_credentials)

    p = sub.add_parser("scale", help="scale the provisioned stack's Spark or Trino workers and wait until they join")
    p.add_argument("--spark-workers", type=int, metavar="N", help="Spark workers registered at the master")
    p.add_argument("--trino-workers", type=int, metavar="N", help="Trino workers beside the coordinator")
    p.add_argument("--namespace", help="namespace of the stack (default: settings.namespace)")
    p.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS")
    p.set_defaults(func=cmd_scale)

    p = sub.add_parser("teardown", help="remove what provision created (volumes kept unless --delete-data)")
    _add_provision_args(p)
    p.add_argument("--delete-data", action="store_true")
    p.set_defaults(func=cmd_teardown)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lakehouse`` command."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except LakehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`lakehouse env | head`): not an error; keep Python from complaining at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # a query error from Trino and the like: show it, without a traceback
        print(f"error: {redact(f'{type(exc).__name__}: {exc}')}", file=sys.stderr)
        return 1
    return code
