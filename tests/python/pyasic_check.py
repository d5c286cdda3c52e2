"""Independent check with pyasic (PyPI, the version pinned in
scripts/install-test-deps): its BTMinerRPCAPI reads summary, devs and pools
from one simulated miner, separately and joined (multicommand), and with
--power off|on powers the miner off or on through pyasic's own token and AES
code (the reads are skipped then).

Usage: pyasic_check.py HOST PORT [--power off|on]  (password in $WHATSMINER_PASSWORD)
Prints one JSON line with what it saw, per command either the figures read
or the error pyasic raised; exits 0 when pyasic ran to the end (errors of
single commands are data for the caller to judge), non-zero otherwise.
"""
import asyncio
import json
import os
import sys
import warnings

from pyasic.errors import APIError
from pyasic.rpc.btminer import BTMinerRPCAPI


def figures(command: str, reply: dict) -> dict:
    """The few values the caller compares with what the simulator served."""
    if command == "summary":
        body = reply["SUMMARY"][0] if "SUMMARY" in reply else reply["Msg"]
        return {"mhs_av": body.get("MHS av"), "fields": len(body)}
    if command == "devs":
        boards = reply["DEVS"]
        return {"boards": len(boards), "board_mhs_av": [b.get("MHS av") for b in boards]}
    pools = reply["POOLS"]
    return {"pools": len(pools), "numbers": [p.get("POOL") for p in pools]}


async def read(api: BTMinerRPCAPI, command: str) -> dict:
    try:
        return figures(command, await getattr(api, command)())
    except APIError as e:
        return {"error": str(e)[:200]}


async def main() -> int:
    host, port = sys.argv[1], int(sys.argv[2])
    api = BTMinerRPCAPI(host, port=port)
    api.pwd = os.environ["WHATSMINER_PASSWORD"]
    if sys.argv[3:4] == ["--power"]:
        if sys.argv[4:5] == ["off"]:
            reply = await api.power_off(respbefore=True)
        else:
            reply = await api.power_on()
        print(json.dumps({"power": reply.get("STATUS"), "reply": reply}))
        return 0
    seen = {c: await read(api, c) for c in ("summary", "devs", "pools")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        joined = await api.multicommand("summary", "devs", "pools")
    seen["multicommand"] = {
        c: figures(c, joined[c][0]) for c in ("summary", "devs", "pools") if c in joined
    }
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
