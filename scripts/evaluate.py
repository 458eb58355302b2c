"""`make evaluate`: how well the NLU understands customers, with figures anyone can re-run.

    1. a full `rasa train --force` of the shipped model (timed), scored on the held-out
       tests/nlu_holdout.yml, which is never trained on;
    2. that model served by `rasa run --enable-api`: parse latency (p50/p95 of
       /model/parse over the holdout) and, when the external set exists, small-talk
       accuracy and false-action rate from its own scorer (score_external.py);
    3. 5-fold cross-validation of the shipped pipeline (config.yml) and of Rasa's default
       pipeline with jieba (nlu/baseline_config.yml) on the same data: intent macro-F1,
       entity micro-F1 of the pipeline's learned extractor (CRF in the shipped one, DIET
       in the default one) and the most confused intent pairs, side by side;
    4. results/evaluation/summary.md and summary.json.

Environment: XINGHE_EXTERNAL_EVAL (the external set; its scorer score_external.py sits beside
it; `make evaluate` passes the one found beside the repository), EVAL_FOLDS (5),
EVAL_SKIP_CV=1 (skips step 3, for a quick look), EVAL_PIPELINES=shipped (cross-validates
only the shipped pipeline: on 2 cores and 3,547 examples the default one took 82 minutes,
against 17, and changes only when the data does), EVAL_CV_SEED (0: which folds;
the same seed and data give the same folds, so a change in the figure is the change's).

`scripts/evaluate.py --holdout-only [--model MODEL]` scores only the holdout (intent accuracy and
macro-F1, entity F1, the fallback trade-off, parse latency) with MODEL, or with an NLU-only model
it trains from data/nlu first: minutes instead of the hour of a full run, for a change to the
holdout or a quick look.  Its figures go to results/evaluation/holdout-only/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "evaluation"
BIN = Path(sys.executable).parent
# External evaluation data is never part of the project: its path comes from the caller.
EXTERNAL = Path(os.environ["XINGHE_EXTERNAL_EVAL"]) if os.environ.get("XINGHE_EXTERNAL_EVAL") else None
HOLDOUT = ROOT / "tests" / "nlu_holdout.yml"
PIPELINES = {"shipped": ROOT / "config.yml", "default": ROOT / "nlu" / "baseline_config.yml"}
FOLDS = int(os.environ.get("EVAL_FOLDS", "5"))
CV_SEED = int(os.environ.get("EVAL_CV_SEED", "0"))
# Rasa shuffles the cross-validation folds with numpy's global generator and takes no seed,
# so without one two runs on the same data differ by up to 0.01 in macro-F1.
SEED_NUMPY = "import sys, numpy; numpy.random.seed(int(sys.argv.pop(1)))"
SEEDED_RASA = f"{SEED_NUMPY}; from rasa.__main__ import main; main()"
WORST_PAIRS = 5
# The learned entity extractor of each pipeline; the regex extractor only finds fixed-format ids.
LEARNED_EXTRACTORS = ("CRFEntityExtractorOnCopy", "DIETClassifier")
FALLBACK_CANDIDATES = (0.3, 0.4, 0.5, 0.6, 0.7)
SERVER_START_TIMEOUT = 300
ANNOTATION = re.compile(r"\[([^\]]+)\]\s*(?:\([^)]*\)|\{[^}]*\})")

ENV = {
    # endpoints.yml names the action server's token; the parse server never calls actions.
    "ACTIONS_TOKEN": "not-used-by-the-parse-server",
    # endpoints.yml names the event broker's file too (scripts/project_env.sh sets the same default).
    "XINGHE_EVENTS_DB": str(ROOT / "var" / "events.db"),
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}


def rasa(args: List[str], log: Path, seed: Optional[int] = None) -> float:
    """Runs `rasa <args>` with its output in `log`, numpy seeded first when `seed` is given;
    the wall time in seconds. Fails loudly."""
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [str(BIN / "rasa")] if seed is None else [sys.executable, "-c", SEEDED_RASA, str(seed)]
    start = time.monotonic()
    with log.open("wb") as out:
        code = subprocess.call([*command, *args], cwd=ROOT, env=ENV, stdout=out, stderr=subprocess.STDOUT)
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        sys.exit(f"rasa {' '.join(args)} failed (exit {code}); log {log}:\n{tail}")
    return time.monotonic() - start


def read_json(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def confused_pairs(errors_path: Path) -> List[Tuple[str, str, int]]:
    """(true intent, predicted intent, count), most frequent first."""
    errors = read_json(errors_path) if errors_path.exists() else []
    counts = Counter((e["intent"], (e.get("intent_prediction") or {}).get("name")) for e in errors)
    return [(gold, predicted, n) for (gold, predicted), n in counts.most_common(WORST_PAIRS)]


def learned_entity_report(report_dir: Path) -> Tuple[Optional[str], Dict[str, Any]]:
    """(extractor, report) of the pipeline's learned entity extractor, if it has one."""
    for extractor in LEARNED_EXTRACTORS:
        report = report_dir / f"{extractor}_report.json"
        if report.exists():
            return extractor, read_json(report)
    return None, {}


def scores(report_dir: Path) -> Dict[str, Any]:
    """The figures of one `rasa test nlu` output directory."""
    intents = read_json(report_dir / "intent_report.json")
    extractor, entities = learned_entity_report(report_dir)
    return {
        "intent_macro_f1": intents["macro avg"]["f1-score"],
        "intent_accuracy": intents["accuracy"],
        "entity_extractor": extractor,
        "entity_micro_f1": (entities.get("micro avg") or {}).get("f1-score"),
        "confused": confused_pairs(report_dir / "intent_errors.json"),
    }


def cross_validate(name: str, config: Path) -> Dict[str, Any]:
    out = RESULTS / "cv" / name
    print(
        f"==> {FOLDS}-fold cross-validation of the {name} pipeline ({config.relative_to(ROOT)}, "
        f"folds seed {CV_SEED})",
        flush=True,
    )
    seconds = rasa(
        [
            "test",
            "nlu",
            "--nlu",
            "data/nlu",
            "--config",
            str(config),
            "--cross-validation",
            "--folds",
            str(FOLDS),
            "--out",
            str(out),
        ],
        RESULTS / f"cv-{name}.log",
        seed=CV_SEED,
    )
    return {**scores(out), "seconds": round(seconds)}


def newest_model() -> Path:
    return max((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)


def holdout_examples() -> List[Tuple[str, str]]:
    """(text without entity annotations, intent) of every holdout utterance."""
    data = yaml.safe_load(HOLDOUT.read_text(encoding="utf-8"))
    return [
        (ANNOTATION.sub(r"\1", line.strip()[2:]), block["intent"])
        for block in data["nlu"]
        if "intent" in block
        for line in block["examples"].splitlines()
        if line.strip().startswith("- ")
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ParseServer:
    """`rasa run --enable-api` on a free loopback port with a one-off API token: enough for
    /model/parse (no action server)."""

    def __init__(self, model: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.api = {"token": secrets.token_urlsafe(32)}
        self.log = (RESULTS / "server.log").open("wb")
        Path(ENV["XINGHE_EVENTS_DB"]).parent.mkdir(parents=True, exist_ok=True)  # Rasa opens its broker
        self.proc = subprocess.Popen(
            [
                str(BIN / "rasa"),
                "run",
                "--enable-api",
                "--auth-token",
                self.api["token"],
                "-i",
                "127.0.0.1",
                "-m",
                str(model),
                "-p",
                self.url.rsplit(":", 1)[1],
            ],
            cwd=ROOT,
            env=ENV,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def __enter__(self) -> "ParseServer":
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"rasa run exited with {self.proc.returncode}: see {self.log.name}")
            try:
                if requests.get(f"{self.url}/status", params=self.api, timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(1)
        sys.exit(f"rasa run did not answer within {SERVER_START_TIMEOUT}s: see {self.log.name}")

    def __exit__(self, *exc: Any) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()


def parse_holdout(
    server: "ParseServer", examples: List[Tuple[str, str]]
) -> Tuple[Dict[str, float], List[Dict[str, Any]]]:
    """Latency of /model/parse over the holdout, and its parse results."""
    url = server.url
    with requests.Session() as http:
        http.params = server.api  # every call carries the API token
        http.post(f"{url}/model/parse", json={"text": "你好"}, timeout=30)  # warm-up
        times, parses = [], []
        for text, _ in examples:
            start = time.perf_counter()
            response = http.post(f"{url}/model/parse", json={"text": text}, timeout=30)
            times.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
            parses.append(response.json())
    cuts = statistics.quantiles(times, n=100)
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(cuts[94], 1),
        "n": len(times),
    }, parses


def fallback_tradeoff(
    examples: List[Tuple[str, str]], parses: List[Dict[str, Any]]
) -> List[Dict[str, float]]:
    """For candidate fallback thresholds: the share of holdout utterances the assistant would
    act on with the right intent, and with a wrong one (the ambiguity threshold as shipped)."""
    ambiguity = fallback_setting("ambiguity_threshold")
    top_two = []
    for parse in parses:
        ranking = [r for r in parse["intent_ranking"] if r["name"] != "nlu_fallback"]
        second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
        top_two.append((ranking[0]["name"], ranking[0]["confidence"], second))
    rows = []
    for threshold in FALLBACK_CANDIDATES:
        accepted = [
            (gold, name)
            for (_, gold), (name, first, second) in zip(examples, top_two, strict=True)
            if first >= threshold and first - second >= ambiguity
        ]
        rows.append(
            {
                "threshold": threshold,
                "right": sum(gold == name for gold, name in accepted) / len(examples),
                "wrong": sum(gold != name for gold, name in accepted) / len(examples),
            }
        )
    return rows


def fallback_setting(key: str) -> float:
    """A setting of the shipped FallbackClassifier (`threshold`: below it the assistant does not act)."""
    pipeline = yaml.safe_load(PIPELINES["shipped"].read_text(encoding="utf-8"))["pipeline"]
    return next(float(c[key]) for c in pipeline if c["name"] == "FallbackClassifier")


def external_scores(server: "ParseServer") -> Optional[Dict[str, Any]]:
    """Runs the external set's own scorer, at the shipped fallback threshold; None when the
    set is not on this machine.  The scorer reads the API token from RASA_API_TOKEN."""
    if EXTERNAL is None or not EXTERNAL.exists():
        return None
    scorer = EXTERNAL.parent / "score_external.py"
    out = subprocess.run(
        [
            sys.executable,
            str(scorer),
            server.url,
            "--set",
            str(EXTERNAL),
            "--threshold",
            str(fallback_setting("threshold")),
        ],
        env={**os.environ, "RASA_API_TOKEN": server.api["token"]},
        capture_output=True,
        text=True,
        check=True,
    )
    (RESULTS / "external.log").write_text(out.stdout + out.stderr, encoding="utf-8")
    last = out.stdout.strip().splitlines()[-1]
    return {key: float(value) for key, value in re.findall(r"(\w+)=([\d.]+)", last)}


def revision() -> str:
    """The commit the figures belong to; "-dirty" when the checkout had uncommitted edits."""
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "an unknown revision (not a git checkout)"


def machine() -> str:
    """Cores, CPU model and memory: timings and latencies mean little without them."""
    cpuinfo = Path("/proc/cpuinfo")
    models = (
        re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE) if cpuinfo.exists() else []
    )
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPU cores{f' ({models[0].strip()})' if models else ''}, {memory_gib:.0f} GiB"


def fmt(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.3f}"


def holdout_line(result: Dict[str, Any]) -> str:
    hold = result["holdout"]
    return (
        f"- holdout ({result['holdout_size']} utterances, {HOLDOUT.relative_to(ROOT)}): intent accuracy "
        f"{fmt(hold['intent_accuracy'])}, macro-F1 {fmt(hold['intent_macro_f1'])}, "
        f"entity micro-F1 {fmt(hold['entity_micro_f1'])} ({hold['entity_extractor']})"
    )


def fallback_lines(result: Dict[str, Any]) -> List[str]:
    lines = [
        f"## Fallback threshold on the holdout (shipped: {fallback_setting('threshold')}, "
        f"ambiguity {fallback_setting('ambiguity_threshold')})",
        "",
        "| threshold | acted on, right intent | acted on, wrong intent |",
        "|---|---|---|",
    ]
    return lines + [
        f"| {row['threshold']} | {fmt(row['right'])} | {fmt(row['wrong'])} |"
        for row in result["fallback_tradeoff"]
    ]


def summary(cv: Dict[str, Dict[str, Any]], result: Dict[str, Any]) -> str:
    lines = [
        "# NLU evaluation",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {machine()} by `make evaluate` at {revision()}.",
        "",
    ]
    if cv:
        lines += [
            f"## {FOLDS}-fold cross-validation (data/nlu, folds seed {CV_SEED})",
            "",
            "| pipeline | intent macro-F1 | intent accuracy | entity micro-F1 (extractor) | time |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {fmt(r['intent_macro_f1'])} | {fmt(r['intent_accuracy'])} | "
            f"{fmt(r['entity_micro_f1'])} ({r['entity_extractor']}) | {r['seconds']} s |"
            for name, r in cv.items()
        ]
        for name, r in cv.items():
            pairs = ", ".join(f"{gold}→{predicted} ×{n}" for gold, predicted, n in r["confused"]) or "none"
            lines.append(f"\nMost confused ({name}): {pairs}")
        lines.append("")
    lines += [
        "## Shipped model",
        "",
        f"- full training (`rasa train --force`): {result['training_seconds']} s",
        holdout_line(result),
        f"- parse latency over the holdout: p50 {result['latency']['p50_ms']} ms, "
        f"p95 {result['latency']['p95_ms']} ms",
    ]
    external = result["external"]
    lines.append(
        f"- external set ({EXTERNAL and EXTERNAL.name}): small-talk accuracy {fmt(external.get('small_talk_acc'))}, "
        f"false-action rate {fmt(external.get('false_action_rate'))} at the fallback threshold "
        f"{fallback_setting('threshold')} (n={int(external.get('n', 0))})"
        if external
        else f"- external set: not found ({EXTERNAL or 'XINGHE_EXTERNAL_EVAL unset'}), skipped"
    )
    lines += ["", *fallback_lines(result)]
    return "\n".join(lines) + "\n"


def score_holdout(model: Path, out: Path, external: bool) -> Dict[str, Any]:
    """`rasa test nlu` of `model` on the holdout (reports in `out`), then the holdout parsed by
    `rasa run`: latency, the fallback trade-off and, when `external`, the external set's scores."""
    print(f"==> scoring {model.name} on {HOLDOUT.relative_to(ROOT)}", flush=True)
    rasa(
        ["test", "nlu", "--model", str(model), "--nlu", str(HOLDOUT), "--out", str(out)],
        out.parent / f"{out.name}.log",
    )
    examples = holdout_examples()
    print("==> parse latency" + (" and external set" if external else "") + " against rasa run", flush=True)
    with ParseServer(model) as server:
        latency, parses = parse_holdout(server, examples)
        scored = external_scores(server) if external else None
    return {
        "model": model.name,
        "holdout_size": len(examples),
        "holdout": scores(out),
        "latency": latency,
        "external": scored,
        "fallback_tradeoff": fallback_tradeoff(examples, parses),
    }


def holdout_only(model: Optional[Path]) -> int:
    """The holdout figures alone, of `model` or of an NLU-only model trained from data/nlu now."""
    out = RESULTS / "holdout-only"
    out.mkdir(parents=True, exist_ok=True)
    if model is None:
        print("==> NLU-only training (data/nlu, config.yml)", flush=True)
        rasa(
            ["train", "nlu", "--nlu", "data/nlu", "--out", str(out / "model"), "--fixed-model-name", "nlu"],
            out / "train.log",
        )
        model = out / "model" / "nlu.tar.gz"
    result = score_holdout(model.resolve(), out / "holdout", external=False)
    (out / "summary.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    text = (
        "\n".join(
            [
                "# NLU holdout",
                "",
                f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {machine()} by `scripts/evaluate.py --holdout-only` "
                f"at {revision()}, model {model}.",
                "",
                holdout_line(result),
                f"- parse latency over the holdout: p50 {result['latency']['p50_ms']} ms, p95 {result['latency']['p95_ms']} ms",
                "",
                *fallback_lines(result),
            ]
        )
        + "\n"
    )
    (out / "summary.md").write_text(text, encoding="utf-8")
    print("\n" + text)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="NLU evaluation: cross-validation, holdout, external set, latency."
    )
    parser.add_argument(
        "--holdout-only",
        action="store_true",
        help="score only the holdout, with --model or an NLU-only model trained now",
    )
    parser.add_argument("--model", type=Path, help="with --holdout-only: the model to score (a .tar.gz)")
    args = parser.parse_args(argv)
    if args.model and not args.holdout_only:
        parser.error("--model goes with --holdout-only")
    if args.holdout_only:
        return holdout_only(args.model)
    chosen = os.environ.get("EVAL_PIPELINES", ",".join(PIPELINES)).split(",")
    if set(chosen) - set(PIPELINES):
        print(
            f"EVAL_PIPELINES names {', '.join(sorted(set(chosen) - set(PIPELINES)))}; "
            f"known: {', '.join(PIPELINES)}",
            file=sys.stderr,
        )
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    print("==> full training of the shipped model", flush=True)
    training_seconds = rasa(["train", "--out", "models", "--force"], RESULTS / "train.log")
    result = {
        "training_seconds": round(training_seconds),
        **score_holdout(newest_model(), RESULTS / "holdout", external=True),
    }
    # Cross-validation last: it takes most of the time, and the shipped model is usable before it.
    cv = (
        {}
        if os.environ.get("EVAL_SKIP_CV")
        else {name: cross_validate(name, config) for name, config in PIPELINES.items() if name in chosen}
    )
    figures = {"cross_validation": cv, "cv_seed": CV_SEED, **result}
    (RESULTS / "summary.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    text = summary(cv, result)
    (RESULTS / "summary.md").write_text(text, encoding="utf-8")
    print("\n" + text)
    if {"shipped", "default"} <= cv.keys() and cv["shipped"]["intent_macro_f1"] <= cv["default"][
        "intent_macro_f1"
    ]:
        print("the shipped pipeline does not beat the default pipeline on intent macro-F1", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
