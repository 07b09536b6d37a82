"""Onboarding: a new hire's first look at the lakehouse, one step at a time.

    lakehouse up --local
    python examples/onboarding.py

What it shows: where every setting comes from, where every service is, whether each one is healthy, what is
in the object store, the metastore and the Iceberg catalog, and the environment variables that point other
tools (aws CLI, psql, trino CLI, pyiceberg, Spark) at the same stack. Secret values are never printed.
It only reads, so it can be run at any time.
"""

from __future__ import annotations

import sys

from lakehouse_sdk import Lakehouse

SECRET_MARKERS = ("SECRET", "PASSWORD", "ACCESS_KEY", "TOKEN")
HIGHLIGHTS = {"mode", "namespace", "nodeport_host", "s3.access_key", "s3.secret_key", "trino.user", "trino.catalog"}


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def main(argv: list[str]) -> int:
    lh = Lakehouse()

    section("1. settings: effective value and where it came from (secrets as ***)")
    rows = lh.settings.explain()
    for row in rows:
        if row.source != "default" or row.setting in HIGHLIGHTS:
            print(f"  {row.setting:<28} {row.value:<28} {row.source}")
    changed = sum(row.source != "default" for row in rows)
    print(f"  {len(rows)} settings, {changed} not default; all of them: `lakehouse config`, docs/configuration.md")

    section("2. endpoints, resolved without touching the network")
    for key, endpoint in lh.endpoints().items():
        print(f"  {key:<16} {endpoint.url:<32} {endpoint.mode}")

    section("3. health: every service checked for real")
    report = lh.health()
    print(report)
    if not report.ok:
        print("\nSome services are not healthy: `lakehouse up --local`, then `lakehouse doctor`.", file=sys.stderr)
        return 1

    section("4. object store: buckets")
    s3 = lh.s3()
    for bucket in s3.list_buckets()["Buckets"]:
        listing = s3.list_objects_v2(Bucket=bucket["Name"], MaxKeys=1000)
        print(f"  {bucket['Name']:<16} {listing.get('KeyCount', 0)} object(s)")

    section("5. Hive Metastore: databases")
    with lh.metastore() as hms:
        for name in hms.databases():
            database = hms.database(name)
            print(f"  {name:<16} {len(hms.tables(name))} table(s)  {database.location}")

    section("6. Iceberg catalog (pyiceberg)")
    catalog = lh.iceberg()
    for namespace in catalog.list_namespaces():
        tables = [".".join(identifier) for identifier in catalog.list_tables(namespace)]
        print(f"  {'.'.join(namespace):<16} {', '.join(tables) or '(no Iceberg tables)'}")

    section('7. environment for other tools (`eval "$(lakehouse env)"`)')
    for name, value in sorted(lh.env().items()):
        secret = any(marker in name for marker in SECRET_MARKERS)
        print(f"  {name:<50} {'*** (secret, not shown)' if secret else value}")

    print("\nYou are set up. Next: python examples/quickstart.py, then docs/notebooks.md.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
