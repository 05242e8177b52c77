#!/usr/bin/python3
"""The push benchmark's peer: what a careful operator would write with aiohttp instead of keyfleet.

Same requests per site as keyfleet: GET /api/health/stripe with X-API-Key (what the site holds),
PUT each setting whose fingerprint differs (secret first, like keyfleet), GET /api/health/stripe
again to verify. One ClientSession; TCPConnector(limit=C, limit_per_host=0) caps requests in flight
fleet-wide like keyfleet's --concurrency; 2*C workers keep every slot busy (keyfleet's workersFor).
aiohttp 3.8's connector overshoots its limit when every request goes to another host (a woken waiter
and a newcomer for a different host both take the freed slot: ~1.5x C measured), so each request
also holds an asyncio.Semaphore(C): both clients then work under the same cap and the same floor.
--no-semaphore shows aiohttp's own behaviour. Prints one JSON line: requests, ok, failed, wall, peak_in_flight.

Debian's /usr/bin/python3 with python3-aiohttp (apt-get install -y python3-aiohttp).
Env: TEMPLATE_MASTER_API_KEY, STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY.
  /usr/bin/python3 bench/push/aiohttp_push.py --sites-file sites.txt --concurrency 256
"""
import argparse
import asyncio
import hashlib
import json
import os
import time

import aiohttp


def fingerprint(value):
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


class NoLimit:
    async def __aenter__(self):
        return None

    async def __aexit__(self, *exc):
        return False


class Counters:
    def __init__(self, slots):
        self.slots = slots
        self.requests = 0
        self.in_flight = 0
        self.peak = 0


def in_flight_tracing(counters):
    """A request is in flight from the moment it holds a connection (the connector's slot)."""
    async def got_connection(_session, ctx, _params):
        ctx.trace_request_ctx["held"] = True
        counters.in_flight += 1
        counters.peak = max(counters.peak, counters.in_flight)

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(got_connection)
    trace.on_connection_reuseconn.append(got_connection)
    return trace


async def call(session, counters, method, url, headers, body=None):
    """One request, its body read to the end (which hands the connection back to the pool)."""
    async with counters.slots:
        counters.requests += 1
        ctx = {"held": False}
        try:
            async with session.request(method, url, headers=headers, data=body, trace_request_ctx=ctx) as resp:
                data = await resp.json()
                if resp.status != 200 or data.get("success") is not True:
                    raise RuntimeError(f"{method} {url}: {resp.status} {data.get('error')}")
                return data
        finally:
            if ctx["held"]:
                counters.in_flight -= 1


async def push_site(session, counters, base, api_key, desired):
    health_url = base + "/api/health/stripe"
    auth = {"X-API-Key": api_key}
    before = await call(session, counters, "GET", health_url, auth)
    keys = before.get("keys") or {}
    changed = False
    for name, value in desired:  # secret first, then publishable, like keyfleet
        held = keys.get(name) or {}
        if held.get("fingerprint") != fingerprint(value):
            body = json.dumps({"value": value}, separators=(",", ":"))
            headers = {**auth, "Content-Type": "application/json"}
            await call(session, counters, "PUT", base + "/api/export/settings/" + name, headers, body)
            changed = True
    if not changed:
        return
    after = (await call(session, counters, "GET", health_url, auth)).get("keys") or {}
    for name, value in desired:
        if (after.get(name) or {}).get("fingerprint") != fingerprint(value):
            raise RuntimeError(f"{base}: {name} did not land")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites-file", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=8.0)
    parser.add_argument("--no-semaphore", action="store_true", help="the connector's limit alone")
    args = parser.parse_args()
    with open(args.sites_file, encoding="utf-8") as f:
        sites = [line.strip().rstrip("/") for line in f if line.strip() and not line.startswith("#")]
    api_key = os.environ["TEMPLATE_MASTER_API_KEY"]
    desired = [("stripe_secret_key", os.environ["STRIPE_SECRET_KEY"]),
               ("stripe_publishable_key", os.environ["STRIPE_PUBLISHABLE_KEY"])]

    counters = Counters(NoLimit() if args.no_semaphore else asyncio.Semaphore(args.concurrency))
    results = {"ok": 0, "failed": 0}
    errors = []
    pending = iter(sites)

    async def worker(session):
        for base in pending:  # workers share one iterator: each site is taken once
            try:
                await push_site(session, counters, base, api_key, desired)
                results["ok"] += 1
            except Exception as err:  # one site's failure never stops the fleet
                results["failed"] += 1
                if len(errors) < 5:
                    errors.append(f"{type(err).__name__}: {err}")

    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=args.concurrency, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     trace_configs=[in_flight_tracing(counters)]) as session:
        workers = min(len(sites), 2 * args.concurrency)
        await asyncio.gather(*(worker(session) for _ in range(workers)))
    wall = time.monotonic() - started
    print(json.dumps({"sites": len(sites), "requests": counters.requests, **results,
                      "wall": round(wall, 3), "peak_in_flight": counters.peak, "errors": errors}))


if __name__ == "__main__":
    asyncio.run(main())
