"""Independent wire check: the public Python client `whatsminer` (PyPI),
which has its own md5-crypt (passlib) and AES (pycryptodome), reads
`summary` from one simulated miner and powers it off.

Usage: whatsminer_lib_check.py HOST PORT  (password in $WHATSMINER_PASSWORD)
Prints one JSON line with what it saw; exits non-zero on any failure.
"""
import json
import os
import sys

from whatsminer import WhatsminerAccessToken, WhatsminerAPI


def main() -> int:
    host, port = sys.argv[1], int(sys.argv[2])
    password = os.environ["WHATSMINER_PASSWORD"]
    read_token = WhatsminerAccessToken(ip_address=host, port=port)
    summary = WhatsminerAPI.get_read_only_info(read_token, "summary")
    status = summary["STATUS"]
    ok = status == "S" if isinstance(status, str) else status[0]["STATUS"] == "S"
    if not ok:
        print(json.dumps({"error": "summary failed", "reply": summary}))
        return 1
    data = summary["SUMMARY"][0] if "SUMMARY" in summary else summary["Msg"]
    write_token = WhatsminerAccessToken(ip_address=host, port=port, admin_password=password)
    reply = WhatsminerAPI.exec_command(write_token, "power_off", additional_params={"respbefore": "true"})
    print(json.dumps({"mhs_av": data.get("MHS av"), "power_off": reply}))
    return 0 if reply.get("STATUS") == "S" else 1


if __name__ == "__main__":
    sys.exit(main())
