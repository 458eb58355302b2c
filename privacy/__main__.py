"""python -m privacy export C001 [--out FILE] | erase C001 --confirm C001 [--reason …] | purge [--days N]
| remask

The stores are the ones make run uses (var/endpoints.runtime.yml, else endpoints.yml; DATABASE_URL
for the business database); --endpoints names another endpoints file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from business import clock
from privacy.remask import remask
from privacy.rights import RETENTION_DAYS, CustomerRecords, NoSuchCustomer
from privacy.stores import Stores

RETENTION_ENV = "XINGHE_RETENTION_DAYS"


def retention_days(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"保存天数须为正整数（{RETENTION_ENV} 或 --days），而不是 {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m privacy", description="客户的个人信息：导出、删除、按保存期限清理"
    )
    parser.add_argument(
        "--endpoints",
        type=Path,
        help="Rasa 的 endpoints 文件（默认 var/endpoints.runtime.yml 或 endpoints.yml）",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="导出一位客户的全部信息（JSON）")
    export.add_argument("customer_id")
    export.add_argument("--out", type=Path, help="写到这个文件（默认 var/exports/<客户>.json）")
    erase = commands.add_parser("erase", help="删除一位客户的对话并匿名化其个人信息（统计数字保留）")
    erase.add_argument("customer_id")
    erase.add_argument("--confirm", required=True, help="再写一遍客户编号，确认删除")
    erase.add_argument("--reason", default="", help="依据（如：客户来电要求删除，工单号）")
    purge = commands.add_parser("purge", help="删除超过保存期限的对话数据（适合每天定时运行）")
    purge.add_argument(
        "--days",
        type=retention_days,
        # a string default goes through `type` too: a bad XINGHE_RETENTION_DAYS is refused the same way
        default=os.environ.get(RETENTION_ENV) or str(RETENTION_DAYS),
        help=f"保存天数（默认 ${RETENTION_ENV} 或 {RETENTION_DAYS}）",
    )
    commands.add_parser("remask", help="把脱敏上线之前存下的数据补做脱敏（可重复运行）")
    args = parser.parse_args(argv)
    stores = Stores.from_endpoints(args.endpoints)
    for missing in stores.unreachable():
        print(f"注意：{missing}", file=sys.stderr)
    records = CustomerRecords(stores)
    try:
        if args.command == "export":
            out = args.out or Path("var/exports") / f"{args.customer_id}.json"
            document = records.export(args.customer_id, by="cli")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
            os.chmod(out, 0o600)
            print(f"已导出客户 {args.customer_id} 的信息：{out}")
        elif args.command == "erase":
            if args.confirm != args.customer_id:
                print("--confirm 与客户编号不一致，未删除", file=sys.stderr)
                return 2
            erased = records.erase(args.customer_id, by="cli", reason=args.reason)
            print(json.dumps(asdict(erased), ensure_ascii=False))
        elif args.command == "remask":
            print(json.dumps(asdict(remask(stores)), ensure_ascii=False))
        else:
            print(json.dumps(asdict(records.purge(clock.now(), args.days)), ensure_ascii=False))
    except NoSuchCustomer as error:
        print(str(error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
