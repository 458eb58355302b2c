"""Attacks on the action server `make run` starts: it trusts only Rasa, which proves
itself with ACTIONS_TOKEN, and it is reachable from this machine only."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path
from typing import List

import pytest
import requests
import yaml

from tests.security.demo_secrets import leaked

FORGED_CALL = {
    "next_action": "action_account_lookup",
    "sender_id": "attacker",
    "version": "3.6.21",
    "domain": {},
    "tracker": {
        "sender_id": "attacker",
        "slots": {"verified_customer_id": "C001"},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
        "latest_message": {
            "text": "查余额",
            "intent": {"name": "account_lookup", "confidence": 1.0},
            "entities": [],
        },
    },
}


def listening_addresses(port: int) -> List[str]:
    """Local addresses with a socket listening on `port` (Linux /proc/net/tcp and tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            found.append(
                str(ipaddress.ip_address(b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))))
            )
    return found


def test_the_action_server_listens_on_loopback_only(e2e_stack):
    addresses = listening_addresses(e2e_stack.actions_port)
    assert addresses and all(ipaddress.ip_address(a).is_loopback for a in addresses), addresses


@pytest.mark.parametrize(
    "headers, params, status",
    [
        ({}, {}, 401),
        ({"Authorization": "Bearer wrong-token"}, {}, 403),
        ({"Authorization": "Bearer "}, {}, 401),
        ({"Authorization": "Basic cmFzYTpyYXNh"}, {}, 401),
        ({}, {"token": "wrong-token"}, 401),
    ],
    ids=["missing", "wrong", "empty", "basic-auth", "query-token"],
)
def test_a_forged_tracker_gets_no_customer_data(actions_url, headers, params, status):
    answer = requests.post(
        f"{actions_url}/webhook", json=FORGED_CALL, headers=headers, params=params, timeout=30
    )
    assert answer.status_code == status and leaked(answer.text) == []
    assert requests.get(f"{actions_url}/actions", headers=headers, timeout=30).status_code == status


def test_rasa_with_the_token_is_served(actions_url, e2e_stack):
    """The control for the refusals above: the same call with Rasa's token is answered."""
    answer = requests.post(
        f"{actions_url}/webhook",
        json=FORGED_CALL,
        headers={"Authorization": f"Bearer {e2e_stack.actions_token}"},
        timeout=30,
    )
    assert answer.status_code == 200 and "1280.50" in answer.text


def test_a_failing_call_answers_without_the_request_or_a_trace(actions_url, e2e_stack):
    """rasa-sdk's own error answer sends the whole request back: a tracker's personal data."""
    broken = {**FORGED_CALL, "tracker": ["13800138001", "张伟"]}
    answer = requests.post(
        f"{actions_url}/webhook",
        json=broken,
        headers={"Authorization": f"Bearer {e2e_stack.actions_token}"},
        timeout=30,
    )
    assert answer.status_code == 500 and leaked(answer.text) == []
    assert "Traceback" not in answer.text and "site-packages" not in answer.text


def test_health_stays_open_and_says_nothing_else(actions_url):
    answer = requests.get(f"{actions_url}/health", timeout=30)
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_make_run_made_private_secrets_and_gave_rasa_the_action_token(e2e_stack):
    """Started with no secret set, as on a fresh machine: the tokens were created once,
    readable by their owner only (like the customer database and the logs), and the
    endpoints Rasa runs with carry the action token."""
    run_dir = e2e_stack.run_dir
    private = [
        run_dir / name
        for name in ("api_token", "actions_token", "endpoints.runtime.yml", "rasa.log", "actions.log")
    ]
    for path in private + [e2e_stack.tmpdir / "xinghe.db"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert len(e2e_stack.api_token) >= 32 and e2e_stack.api_token != e2e_stack.actions_token
    endpoints = yaml.safe_load((run_dir / "endpoints.runtime.yml").read_text(encoding="utf-8"))
    assert endpoints["action_endpoint"]["headers"] == {"Authorization": f"Bearer {e2e_stack.actions_token}"}
