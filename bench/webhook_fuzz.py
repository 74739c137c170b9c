"""Generated webhook bodies with valid signatures never answer 5xx; oversized bodies stay cheap.

Usage: python bench/webhook_fuzz.py [--count N] [--concurrency C] [--seed S] [--keep] [--json]

Two measurements against one Stemme started as bench/survey_load.py starts it (`python -m bot
migrate`, seeding through storage, `python -m bot serve` on loopback, the fake Bot API of
bench/survey_fakes.py in this process; Twilio's API is an address that refuses, so nothing is
texted):

- fuzz: N generated bodies (10,000 by default, from a seeded random generator) to each
  webhook — /webhooks/telegram with the right secret, /webhooks/twilio/sms and
  /webhooks/twilio/status each with the signature Twilio would compute over the body's
  fields, and a seeded child's /chat/{token} page. The bodies are what a holder of the secret
  could send: Update- and form-shaped ones with odd values in every field Stemme reads (huge
  and non-ASCII numbers, dates out of range, lone surrogates, NUL, overlong ids, repeated
  fields), any JSON, any bytes. Printed: answers by status class per webhook; the target is
  no 5xx at all.
- oversized: /healthz latency (p50/p99 of sequential GETs) alone, then while four clients
  each send 1 MB bodies in a loop (a form of 333k empty fields with a junk signature to the
  Twilio webhooks, 1 MB of JSON with the right secret to Telegram, a 1 MB form to the web
  chat). The target is p99 < 50 ms under that load; every 1 MB body should get a 413.

The server's log is summarised (warnings, errors and tracebacks); --keep keeps the temporary
folder with it. --json prints one object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from multidict import MultiDict  # noqa: E402
from survey_fakes import FakeBotAPI, percentile  # noqa: E402
from survey_load import (  # noqa: E402
    OTHER_CHATS,
    SECRET,
    TOKEN,
    Processes,
    _free_port,
    seed,
    stemme_env,
    summarise_log,
    wait_healthy,
)
from twilio.request_validator import RequestValidator  # noqa: E402

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
FROM = "+4550000000"
WEBHOOKS = ("telegram", "twilio_sms", "twilio_status", "webchat")
PATHS = {"telegram": "/webhooks/telegram", "twilio_sms": "/webhooks/twilio/sms",
         "twilio_status": "/webhooks/twilio/status"}
PAGES = 300  # seeded web-chat children: a page an input closed (a withdrawal) is replaced
OTHERS = 20  # seeded Telegram parents, so some updates come from known chats
MEGABYTE = 1_000_000
HEALTH_SAMPLES = 300
HEALTH_GAP = 0.01  # seconds between /healthz requests
ATTACKERS = 4
WARM_UP = 50  # bodies per webhook sent before the measured ones

Request = tuple[str, dict[str, str], bytes]  # webhook, headers, body


# -- generated bodies ----------------------------------------------------------------------

class Bodies:
    """Odd values and whole bodies from one seeded random generator."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def text(self) -> str:
        r = self.r
        pick = r.random()
        if pick < 0.35:
            return "".join(chr(r.choice((r.randrange(32, 127), r.randrange(0x80, 0x800),
                                         r.randrange(0x800, 0x10FFFF))))
                           for _ in range(r.randrange(0, 30)))
        return r.choice(["", " ", "7", "10", "/start", "/start tok-1", "/start " + "a" * 70,
                         "/STOP", "/help@bot", "stop", "STOP", "\ud800", "a\udfffb", "\x00",
                         "\u202e", "😀" * 50, "x" * 5000, "²", "٣", "9" * 5000, "-1", "1e9",
                         "outcome:me:7", "consent:yes", "skip", "Tak"])

    def number(self) -> Any:
        r = self.r
        return r.choice([0, -1, 1, 2**31, 2**63, -(2**63), 2**64, 10**18, 10**30,
                         r.randrange(1, 2**40), r.random() * 1e12, 1e308, True, None,
                         self.text()])

    def json(self, depth: int = 0) -> Any:
        r = self.r
        pick = r.random()
        if depth > 3 or pick < 0.5:
            return r.choice([self.number(), self.text(), None, True, False])
        if pick < 0.75:
            return [self.json(depth + 1) for _ in range(r.randrange(0, 4))]
        return {self.text()[:10]: self.json(depth + 1) for _ in range(r.randrange(0, 4))}

    def odd(self, plausible: Any, p: float = 0.15) -> Any:
        """`plausible`, or now and then an odd value in its place."""
        return self.json() if self.r.random() < p else plausible

    def telegram(self, n: int) -> bytes:
        r = self.r
        pick = r.random()
        if pick < 0.05:
            return r.randbytes(r.randrange(0, 200))
        if pick < 0.12:
            return json.dumps(self.json()).encode()
        chat_id = r.choice([OTHER_CHATS + r.randrange(OTHERS), r.randrange(1, 2**40)])
        user = {"id": self.odd(chat_id), "is_bot": self.odd(False), "first_name": self.text(),
                "language_code": self.odd(r.choice(["da", "en", "en-GB", self.text()]))}
        chat = {"id": self.odd(chat_id), "first_name": self.text(),
                "type": self.odd(r.choice(["private"] * 4 + ["group", "channel"]))}
        date = self.odd(r.randrange(1_400_000_000, 1_900_000_000), 0.2)
        message = {"message_id": self.odd(r.randrange(1, 10**6)), "from": user, "chat": chat,
                   "date": date, "text": self.odd(self.text())}
        if r.random() < 0.1:
            message[r.choice(["photo", "sticker", "entities", "caption", "reply_markup"])] = \
                self.json()
        kind = r.random()
        update: dict[str, Any] = {"update_id": self.odd(10**8 + n, 0.1)}
        if kind < 0.5:
            update["message"] = message
        elif kind < 0.8:
            update["callback_query"] = {"id": self.odd(str(r.randrange(10**12))),
                                        "from": user, "chat_instance": self.text(),
                                        "message": self.odd(message),
                                        "data": self.odd(self.text())}
        elif kind < 0.9:
            update["my_chat_member"] = {
                "chat": chat, "from": user, "date": date,
                "old_chat_member": {"status": "member", "user": user},
                "new_chat_member": {"status": self.odd(r.choice(["kicked", "member"])),
                                    "user": user, "until_date": 0}}
        else:
            update[self.text()[:12] or "edited_message"] = self.odd(message, 0.5)
        return json.dumps(update, ensure_ascii=r.random() < 0.5).encode("utf-8", "surrogatepass")

    def form(self, base: dict[str, str]) -> bytes:
        r = self.r
        if r.random() < 0.05:
            return r.randbytes(r.randrange(0, 200))
        pairs = [(k, v) for k, v in base.items() if r.random() > 0.05]
        for _ in range(r.choice([0, 1, 1, 2, 3, 8])):
            key = r.choice([*base, "ErrorCode", "OptOutType", "NumMedia", "MediaUrl0",
                            self.text()[:10]])
            pairs = [(k, v) for k, v in pairs if k != key or r.random() < 0.3]
            pairs.append((key, self.text()))
        r.shuffle(pairs)
        return urlencode(pairs, errors="surrogatepass").encode()

    def sms(self, n: int) -> bytes:
        sid = f"SM{n:032x}"
        return self.form({"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid,
                          "AccountSid": ACCOUNT_SID, "From": f"+452{self.r.randrange(10**7):07d}",
                          "To": FROM, "Body": self.text(), "NumMedia": "0", "NumSegments": "1",
                          "SmsStatus": "received", "ApiVersion": "2010-04-01"})

    def status(self, n: int) -> bytes:
        sid = f"SM{n:032x}"
        status = self.r.choice(["queued", "sent", "delivered", "undelivered", "failed"])
        return self.form({"MessageSid": sid, "SmsSid": sid, "MessageStatus": status,
                          "SmsStatus": status, "To": f"+452{self.r.randrange(10**7):07d}",
                          "From": FROM, "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01",
                          "ErrorCode": self.r.choice(["", "30003", "21610", self.text()])})

    def webchat(self) -> bytes:
        field = self.r.choice(["text", "choice"])
        return self.form({field: self.text(), "msg_id": f"{self.r.getrandbits(64):016x}"})


def signed(base: str, path: str, body: bytes) -> dict[str, str]:
    """The signature Twilio would send for `body`: over its fields, as the server parses them."""
    try:
        params: MultiDict[str] = MultiDict(parse_qsl(body.decode("utf-8"),
                                                     keep_blank_values=True))
    except UnicodeDecodeError:
        params = MultiDict()
    signature = RequestValidator(AUTH_TOKEN).compute_signature(base + path, params)
    return {"Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature}


def make_requests(base: str, count: int, seed: int) -> dict[str, list[Request]]:
    """`count` signed requests per webhook (web chat's path is filled in when sent)."""
    bodies = Bodies(seed)
    tg = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    out: dict[str, list[Request]] = {name: [] for name in WEBHOOKS}
    for n in range(count):
        out["telegram"].append(("telegram", tg, bodies.telegram(n)))
        sms = bodies.sms(n)
        out["twilio_sms"].append(("twilio_sms", signed(base, PATHS["twilio_sms"], sms), sms))
        status = bodies.status(n)
        out["twilio_status"].append(
            ("twilio_status", signed(base, PATHS["twilio_status"], status), status))
        out["webchat"].append(("webchat", form, bodies.webchat()))
    return out


# -- driving -------------------------------------------------------------------------------

def seed_world(url: str, key_file: Path) -> list[str]:
    """Web-chat children with their pages, and Telegram parents linked to known chats."""
    tokens, _ = seed(url, key_file, children=PAGES, channel="webchat", others=OTHERS)
    return tokens


async def fuzz(base: str, reqs: list[Request], concurrency: int,
               pages: list[str]) -> dict[str, Any]:
    """Send every request, `concurrency` in flight; statuses counted."""
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    samples: list[str] = []
    queue = iter(reqs)
    page = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            nonlocal page
            for webhook, headers, body in queue:
                path = PATHS.get(webhook) or f"/chat/{pages[page % len(pages)]}"
                try:
                    async with http.post(base + path, data=body, headers=headers,
                                         allow_redirects=False) as response:
                        text = await response.text(errors="replace")
                        statuses[response.status] += 1
                        if response.status >= 500 and len(samples) < 5:
                            samples.append(f"{response.status} {body[:120]!r}: {text[:120]}")
                        if webhook == "webchat" and response.status == 404:
                            page += 1  # the page was closed by what was sent: use another
                except (aiohttp.ClientError, OSError) as exc:
                    errors[type(exc).__name__] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    classes = Counter(f"{status // 100}xx" for status in statuses.elements())
    return {"sent": len(reqs), "5xx": classes.get("5xx", 0), "by_class": dict(sorted(
        classes.items())), "by_status": {str(k): v for k, v in sorted(statuses.items())},
        "client_errors": dict(errors), "seconds": round(elapsed, 1),
        "per_second": round(len(reqs) / elapsed, 1), "samples_5xx": samples}


async def health(base: str, samples: int) -> dict[str, float | None]:
    """p50/p99/max of sequential /healthz requests, in milliseconds."""
    times: list[float] = []
    async with aiohttp.ClientSession() as http:
        for _ in range(samples):
            began = time.perf_counter()
            async with http.get(base + "/healthz") as response:
                await response.read()
            times.append((time.perf_counter() - began) * 1000)
            await asyncio.sleep(HEALTH_GAP)
    return {"p50_ms": _round(percentile(times, 50)), "p99_ms": _round(percentile(times, 99)),
            "max_ms": _round(max(times))}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def oversized(token: str) -> list[tuple[str, dict[str, str], bytes]]:
    """One 1 MB body per attacker: (path, headers, body)."""
    form = b"a=&" * (MEGABYTE // 3) + b"a"
    junk = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "junk"}
    big_json = json.dumps({"update_id": 1, "message": {"text": "x" * (MEGABYTE - 40)}}).encode()
    return [
        (PATHS["twilio_sms"], junk, form),
        (PATHS["twilio_status"], junk, form),
        (PATHS["telegram"], {"Content-Type": "application/json",
                             "X-Telegram-Bot-Api-Secret-Token": SECRET}, big_json),
        (f"/chat/{token}", {"Content-Type": "application/x-www-form-urlencoded"}, form),
    ]


async def under_attack(base: str, token: str) -> dict[str, Any]:
    """/healthz while ATTACKERS clients send 1 MB bodies back to back."""
    stop = asyncio.Event()
    answers: Counter[str] = Counter()
    sent_bytes = 0

    async def attacker(path: str, headers: dict[str, str], body: bytes) -> None:
        nonlocal sent_bytes
        async with aiohttp.ClientSession() as http:
            while not stop.is_set():
                try:
                    async with http.post(base + path, data=body, headers=headers) as response:
                        await response.read()
                        answers[str(response.status)] += 1
                except (aiohttp.ClientError, OSError) as exc:
                    answers[type(exc).__name__] += 1
                sent_bytes += len(body)

    attackers = [asyncio.create_task(attacker(*spec))
                 for spec in oversized(token)[:ATTACKERS]]
    await asyncio.sleep(0.5)  # the attack under way before measuring
    began = time.perf_counter()
    latency = await health(base, HEALTH_SAMPLES)
    elapsed = time.perf_counter() - began
    stop.set()
    await asyncio.gather(*attackers)
    return {**latency, "oversized_answers": dict(answers),
            "oversized_per_second": round(sum(answers.values()) / elapsed, 1),
            "oversized_mb_per_second": round(sent_bytes / MEGABYTE / elapsed, 1)}


async def run(args: argparse.Namespace, work: Path, procs: Processes) -> dict[str, Any]:
    fake = FakeBotAPI(TOKEN)
    await fake.start()
    try:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = stemme_env(work, f"sqlite:///{work / 'stemme.db'}", fake.url, port, None)
        env.update(STEMME_TWILIO_ACCOUNT_SID=ACCOUNT_SID, STEMME_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                   STEMME_TWILIO_FROM=FROM,
                   # Replies to the fuzzed SMS go nowhere: an address that refuses.
                   STEMME_TWILIO_API_URL="http://127.0.0.1:9")
        migrated = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "bot", "migrate", "--json"], env=env,
            cwd=work, capture_output=True)
        if migrated.returncode != 0:
            raise SystemExit(f"migrate failed: {migrated.stdout!r} {migrated.stderr!r}")
        pages = await asyncio.to_thread(seed_world, f"sqlite:///{work / 'stemme.db'}",
                                        work / "keys.json")
        spare = pages.pop()  # the oversized web-chat posts go to a page of their own
        reqs = make_requests(base, args.count, args.seed)
        log = work / "server.log"
        proc = procs.start([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1",
                            "--port", str(port)], env=env, cwd=work, log=log)
        await wait_healthy(base, proc, log)
        # The first inputs processed load what processing needs (the first one stalls the
        # server for seconds): a few bodies per webhook beforehand, not counted.
        warm = make_requests(base, WARM_UP, args.seed + 1)
        for webhook in WEBHOOKS:
            await fuzz(base, warm[webhook], args.concurrency, pages)
        out: dict[str, Any] = {"count": args.count, "concurrency": args.concurrency,
                               "seed": args.seed, "cpus": os.cpu_count(), "fuzz": {}}
        for webhook in WEBHOOKS:
            out["fuzz"][webhook] = await fuzz(base, reqs[webhook], args.concurrency, pages)
        out["fuzz_5xx"] = sum(result["5xx"] for result in out["fuzz"].values())
        out["healthz_alone"] = await health(base, HEALTH_SAMPLES)
        out["healthz_under_oversized"] = await under_attack(base, spare)
        procs.stop(proc)
        out["server_log"] = summarise_log(log)
    finally:
        await fake.close()
    return out


def print_results(out: dict[str, Any]) -> None:
    print(f"{out['count']:,} generated bodies per webhook with valid signatures, "
          f"{out['concurrency']} in flight, seed {out['seed']}, {out['cpus']} CPUs")
    for webhook, r in out["fuzz"].items():
        classes = ", ".join(f"{k} {v:,}" for k, v in r["by_class"].items())
        errors = f"; client errors {r['client_errors']}" if r["client_errors"] else ""
        print(f"{webhook:>14}: 5xx {r['5xx']:>5,}  ({classes}; {r['per_second']:,.0f}/s"
              f"{errors})")
        for sample in r["samples_5xx"]:
            print(f"{'':>16}{sample}")
    print(f"{'all webhooks':>14}: 5xx {out['fuzz_5xx']:>5,}  (target 0)")
    alone, attacked = out["healthz_alone"], out["healthz_under_oversized"]
    print(f"/healthz alone: p50 {alone['p50_ms']} ms, p99 {alone['p99_ms']} ms")
    print(f"/healthz while {ATTACKERS} clients send 1 MB bodies: p50 {attacked['p50_ms']} ms, "
          f"p99 {attacked['p99_ms']} ms (target < 50 ms); {attacked['oversized_per_second']}"
          f" bodies/s ({attacked['oversized_mb_per_second']} MB/s) answered "
          f"{attacked['oversized_answers']}")
    log = out["server_log"]
    print(f"server log: {log['lines']:,} lines, {log['warnings_or_errors']:,} warnings or "
          f"errors, {log['tracebacks']} tracebacks")
    for kind, n in log["kinds"].items():
        print(f"{n:>8,}  {kind}")


def main() -> None:
    """Run the bench and print the numbers (or one JSON object with --json)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="bodies per webhook")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stemme-fuzz-"))
    procs = Processes()
    try:
        out = asyncio.run(run(args, work, procs))
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(out))
    else:
        print_results(out)


if __name__ == "__main__":
    main()
