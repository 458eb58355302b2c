"""Write the endpoints file Rasa runs with: SRC plus where the action server is and the token it
wants, so the copy (DST, mode 600) is private like the token files.

    python scripts/runtime_endpoints.py SRC DST     (ACTIONS_URL and ACTIONS_TOKEN from the environment)
"""

import os
import sys

import yaml

src, dst = sys.argv[1:]
with open(src, encoding="utf-8") as f:
    data = yaml.safe_load(f) or {}
data["action_endpoint"] = {
    **(data.get("action_endpoint") or {}),
    "url": os.environ["ACTIONS_URL"],
    "headers": {"Authorization": "Bearer " + os.environ["ACTIONS_TOKEN"]},
}
with open(os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
    yaml.safe_dump(data, f, allow_unicode=True, sort_keys=False)
os.chmod(dst, 0o600)  # rewriting keeps an older copy's mode
