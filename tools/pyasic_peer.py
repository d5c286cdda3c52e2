"""The peer benchmark: pyasic (the version pinned in scripts/install-test-deps)
scraping a simulated fleet the way it reads Whatsminers, so that its CPU per
miner-scrape can be set beside the exporter's in the same run.

Two data paths of pyasic's BTMinerRPCAPI are measured, each with a warm-up
scrape and then --scrapes measured ones, every miner of the fleet per scrape,
--concurrency miners at a time:
  joined    multicommand("summary", "devs", "pools"): one exchange per miner,
            pyasic's own path for v2 Whatsminers;
  separate  summary(), devs(), pools(): three exchanges per miner.
CPU is this process's CPU time (user + system) during each scrape, so Python
start-up and imports are not counted. Loopback IP literals only; bounded in
miners, scrapes and time.

Usage: pyasic_peer.py --targets FILE [--scrapes 3] [--concurrency 256]
                      [--modes joined,separate] [--time-limit 300]
Prints one JSON object on stdout.
"""
import argparse
import asyncio
import importlib.metadata
import ipaddress
import json
import statistics
import sys
import time
import warnings

from pyasic.errors import APIError
from pyasic.rpc.btminer import BTMinerRPCAPI

MAX_MINERS = 20_000
MAX_SCRAPES = 20
PARTS = ("summary", "devs", "pools")


def loopback_targets(path: str) -> list[tuple[str, int]]:
    targets = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            host, _, port = line.rpartition(":")
            host = host.strip("[]")
            if not ipaddress.ip_address(host).is_loopback:
                raise SystemExit(f"refusing {line}: not a loopback address")
            targets.append((host, int(port)))
    if not 0 < len(targets) <= MAX_MINERS:
        raise SystemExit(f"1..{MAX_MINERS} targets needed, got {len(targets)}")
    return targets


async def joined(api: BTMinerRPCAPI) -> bool:
    data = await api.multicommand(*PARTS, allow_warning=False)
    return all(part in data for part in PARTS)


async def separate(api: BTMinerRPCAPI) -> bool:
    for part in PARTS:
        await getattr(api, part)()
    return True


async def scrape(apis, read, concurrency: int) -> int:
    gate = asyncio.Semaphore(concurrency)

    async def one(api) -> bool:
        async with gate:
            try:
                return await read(api)
            except (APIError, OSError, asyncio.TimeoutError, KeyError, TypeError):
                return False

    results = await asyncio.gather(*(one(api) for api in apis))
    return sum(1 for ok in results if ok)


async def measure(apis, read, scrapes: int, concurrency: int, deadline: float) -> dict:
    await scrape(apis, read, concurrency)  # warm-up
    walls, cpus, oks = [], [], []
    for _ in range(scrapes):
        if time.monotonic() > deadline:
            break
        cpu0, wall0 = time.process_time(), time.perf_counter()
        oks.append(await scrape(apis, read, concurrency))
        walls.append((time.perf_counter() - wall0) * 1e3)
        cpus.append((time.process_time() - cpu0) * 1e3)
    cpu_median = statistics.median(cpus) if cpus else 0.0
    return {
        "wall_ms": walls,
        "cpu_ms": cpus,
        "ok": oks,
        "cpu_us_per_miner_scrape": cpu_median * 1e3 / len(apis),
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", required=True)
    parser.add_argument("--scrapes", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--modes", default="joined,separate")
    parser.add_argument("--time-limit", type=float, default=300.0)
    args = parser.parse_args()
    if not 1 <= args.scrapes <= MAX_SCRAPES or not 1 <= args.concurrency <= 4096:
        raise SystemExit(f"--scrapes 1..{MAX_SCRAPES}, --concurrency 1..4096")
    reads = {"joined": joined, "separate": separate}
    modes = [m for m in args.modes.split(",") if m]
    if not modes or any(m not in reads for m in modes):
        raise SystemExit(f"--modes: a list of {', '.join(reads)}")
    targets = loopback_targets(args.targets)
    apis = [BTMinerRPCAPI(host, port=port) for host, port in targets]
    deadline = time.monotonic() + min(args.time_limit, 3600.0)
    out = {
        "pyasic": importlib.metadata.version("pyasic"),
        "python": sys.version.split()[0],
        "miners": len(apis),
        "concurrency": args.concurrency,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mode in modes:
            out[mode] = await measure(apis, reads[mode], args.scrapes, args.concurrency, deadline)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
