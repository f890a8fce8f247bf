#!/usr/bin/env python3
"""Hostile traffic against a running release binary: the attacks of issue 9, and how the server
holds up while they run.

Starts `amanah serve --demo` on SQLite in a scratch directory with the server's own defaults,
then runs each attack in turn while three monitors run beside them:

* a prober asks `GET /healthz` every 50 ms (its slowest answer and its failures are reported);
* a well-behaved client runs a small portfolio query every 100 ms (errors and slowest answer);
* the server's resident memory (VmRSS) is sampled every 100 ms.

Each attack prints what the server answered (status, code or close code) and how long it took.
The WebSocket client is written out here (RFC 6455 framing over a plain socket), so that the
attacks can send exactly the frames they need; the script needs nothing but Python 3.

    cargo build --release -p amanah-api --bin amanah
    python3 bench/hostile.py target/release/amanah
"""

import base64
import http.client
import json
import os
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/amanah"
HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


PORT = free_port()


def post(body, headers=None, timeout=60):
    conn = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    payload = json.dumps(body).encode()
    h = {"Content-Type": "application/json", "Accept": "application/graphql-response+json"}
    h.update(headers or {})
    started = time.perf_counter()
    conn.request("POST", "/graphql", payload, h)
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = {"raw": data[:200].decode(errors="replace")}
    return response.status, parsed, elapsed


def codes(body):
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


# ---------------------------------------------------------------------------------------------
# A minimal WebSocket client (RFC 6455), enough for graphql-transport-ws and for bad frames.
# ---------------------------------------------------------------------------------------------
class Ws:
    def __init__(self, timeout=30):
        self.sock = socket.create_connection((HOST, PORT), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /graphql HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])

    def frame(self, opcode, payload, fin=True):
        mask = os.urandom(4)
        header = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.sock.sendall(header + mask + _mask(payload, mask))

    def send_json(self, message):
        self.frame(0x1, json.dumps(message).encode())

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def receive(self):
        """The next message: ('text', dict), ('close', code, reason); pings are answered."""
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            if opcode == 0x9:
                try:
                    self.frame(0xA, payload)
                except OSError:
                    pass  # the server may have closed meanwhile; its close frame is still to read
            elif opcode == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                return ("close", code, payload[2:].decode(errors="replace"))
            elif opcode == 0x1:
                return ("text", json.loads(payload))

    def open(self):
        self.send_json({"type": "connection_init", "payload": {}})
        kind, message = self.receive()[:2]
        assert kind == "text" and message["type"] == "connection_ack", message
        return self

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _mask(payload, mask):
    """XOR with the repeated mask (RFC 6455 §5.3), through big integers: fast for megabytes."""
    if not payload:
        return payload
    key = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(len(payload), "big")


# ---------------------------------------------------------------------------------------------
# Monitors
# ---------------------------------------------------------------------------------------------
class Monitors:
    def __init__(self, pid):
        self.pid = pid
        self.stop = threading.Event()
        self.health_max = 0.0
        self.health_failures = 0
        self.health_count = 0
        self.client_max = 0.0
        self.client_errors = []
        self.client_count = 0
        self.rss_max_kb = 0
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self.health, self.client, self.rss)]

    def start(self):
        for t in self.threads:
            t.start()

    def health(self):
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(HOST, PORT, timeout=5)
                conn.request("GET", "/healthz")
                ok = conn.getresponse().status == 200
                conn.close()
            except OSError:
                ok = False
            elapsed = time.perf_counter() - started
            self.health_count += 1
            self.health_max = max(self.health_max, elapsed)
            if not ok:
                self.health_failures += 1
            time.sleep(0.05)

    def client(self):
        while not self.stop.is_set():
            try:
                status, body, elapsed = post({"query": "{ projects(first: 5) { totalCount edges { node { title } } } }"}, timeout=10)
                self.client_max = max(self.client_max, elapsed)
                if status != 200 or body.get("errors"):
                    self.client_errors.append((status, codes(body)))
            except OSError as error:
                self.client_errors.append(("error", str(error)))
            self.client_count += 1
            time.sleep(0.1)

    def rss(self):
        while not self.stop.is_set():
            try:
                with open(f"/proc/{self.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS:"):
                            self.rss_max_kb = max(self.rss_max_kb, int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.1)


def rss_now(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


results = []


def report(name, outcome, seconds):
    results.append((name, outcome, seconds))
    print(f"{name:<58} {outcome:<44} {seconds * 1000:9.1f} ms", flush=True)


# ---------------------------------------------------------------------------------------------
# The attacks
# ---------------------------------------------------------------------------------------------
def fragment_bomb(levels, spreads):
    doc = "query{...F0}"
    for i in range(levels):
        doc += f"fragment F{i} on Query{{" + " ".join([f"...F{i + 1}"] * spreads) + "}"
    return doc + f"fragment F{levels} on Query{{apiVersion}}"


def attack_documents():
    bomb = fragment_bomb(30, 3)
    out = [None] * 3

    def one(i):
        out[i] = post({"query": bomb})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slowest = max(r[2] for r in out)
    report(f"fragment bomb ×3 at once ({len(bomb)} B, 3^30 fields)", f"{out[0][0]} {codes(out[0][1])}", slowest)
    status, body, t = post({"query": fragment_bomb(22, 2)})
    report(f"two spreads, 22 levels ({len(fragment_bomb(22, 2))} B)", f"{status} {codes(body)}", t)
    status, body, t = post({"query": "{ apiVersion " + "@include(if: true) " * 50_000 + "}"})
    report("50,000 @include on one field (≈ 1 MB)", f"{status} {codes(body)}", t)
    status, body, t = post({"query": "{ " + "apiVersion " * 90_000 + "}"})
    report("90,000 fields (≈ 1 MB of tokens)", f"{status} {codes(body)}", t)
    status, body, t = post({"query": "{ ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A ...A }"})
    report("fragment cycle with two spreads each", f"{status} {codes(body)}", t)
    frags = "".join(f"fragment G{i} on Query {{ apiVersion }}" for i in range(1000))
    status, body, t = post({"query": "{ ...G0 } " + frags})
    report("1,000 fragments", f"{status} {codes(body)}", t)
    status, body, t = post({"query": "{ projects(first: 100) { edges { node { activities(first: 100) { edges { node { title } } } } } } }"})
    report("100 projects × 100 activities", f"{status} {codes(body)}", t)
    status, body, t = post(
        {"query": "query($f: ProjectFilter) { projects(first: 1, filter: $f) { totalCount } }",
         "variables": {"f": {"status": ["IMPLEMENTATION"] * 40_001}}}
    )
    report("status filter with 40,001 entries", f"{status} {codes(body)} {body.get('errors', [{}])[0].get('extensions', {}).get('field')}", t)


def attack_idempotency(token):
    for value in (1.5, 2**60):
        status, body, t = post(
            {"query": "mutation($v: Int!) { setBudget(input: { projectId: \"x\", expectedVersion: $v, budgets: [] }) { auditIndex } }",
             "variables": {"v": value}},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"k-{value}"},
        )
        report(f"Idempotency-Key with {value} in the variables", f"{status} {codes(body)}", t)


def attack_methods(pid):
    method = "X" * 4096
    count = 30_000
    per_thread = count // 4
    started = time.perf_counter()

    def send_many():
        conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        for _ in range(per_thread):
            conn.request(method, "/graphql")
            conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=send_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    report(f"{count} requests with made-up 4 KB methods", f"RSS {rss_now(pid) // 1024} MB", elapsed)
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    started = time.perf_counter()
    conn.request("GET", "/metrics")
    text = conn.getresponse().read()
    report("then one /metrics scrape", f"{len(text)} bytes", time.perf_counter() - started)


def attack_websocket_size(pid):
    ws = Ws().open()
    chunk = b"x" * (1 << 20)
    sent = 0
    started = time.perf_counter()
    try:
        ws.frame(0x1, chunk, fin=False)
        sent += len(chunk)
        for _ in range(599):
            ws.frame(0x0, chunk, fin=False)
            sent += len(chunk)
    except OSError:
        pass
    try:
        outcome = ws.receive()
    except (OSError, ConnectionError) as error:
        outcome = ("error", str(error))
    report(f"600 MB of continuation frames ({sent >> 20} MB sent)", f"{outcome[:2]} RSS {rss_now(pid) // 1024} MB", time.perf_counter() - started)
    ws.close()


def attack_subscriptions(project):
    ws = Ws().open()
    query = "subscription($id: ID!) { projectChanged(id: $id) { id } }"
    started = time.perf_counter()
    for n in range(5000):
        ws.send_json({"id": str(n), "type": "subscribe", "payload": {"query": query, "variables": {"id": project}}})
    other = post({"query": "{ projects(first: 1) { totalCount } }"})
    tally = {}
    for _ in range(5000):
        kind, message = ws.receive()[:2]
        key = message["type"] if kind == "text" else f"close {message}"
        if message.get("type") == "error":
            key += " " + str(message["payload"][0]["extensions"]["code"])
        if message.get("type") == "next" and message["payload"].get("errors"):
            key += " with errors"
        tally[key] = tally.get(key, 0) + 1
    report("5,000 projectChanged on one anonymous socket", json.dumps(tally), time.perf_counter() - started)
    report("  another client's query meanwhile", f"{other[0]} {codes(other[1])}", other[2])
    ws.close()


def attack_idle_sockets():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    sockets, refused = [], 0
    started = time.perf_counter()
    for _ in range(2000):
        ws = Ws(timeout=30)
        if ws.status == 101:
            sockets.append(ws)
        else:
            refused += 1
            ws.close()
    report("2,000 idle WebSocket upgrades", f"{len(sockets)} accepted, {refused} refused (503)", time.perf_counter() - started)
    closes = {}
    for ws in sockets:
        try:
            outcome = ws.receive()
            key = f"{outcome[0]} {outcome[1]}"
        except (OSError, ConnectionError):
            key = "dropped"
        closes[key] = closes.get(key, 0) + 1
        ws.close()
    report("  closed without connection_init", json.dumps(closes), time.perf_counter() - started)


def attack_slow_body():
    sock = socket.create_connection((HOST, PORT), timeout=60)
    started = time.perf_counter()
    sock.sendall(
        (f"POST /graphql HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"que\r\n").encode()
    )
    answer = sock.recv(1024).split(b"\r\n")[0].decode()
    report("POST with Upgrade: websocket and a body that never ends", answer, time.perf_counter() - started)
    sock.close()


def main():
    data = tempfile.mkdtemp(prefix="amanah-hostile-")
    env = dict(os.environ, AMANAH_DATA_DIR=data, AMANAH_LISTEN=f"{HOST}:{PORT}", RUST_LOG="warn")
    env = {k: v for k, v in env.items() if not k.startswith("AMANAH_") or k in ("AMANAH_DATA_DIR", "AMANAH_LISTEN")}
    server = subprocess.Popen([BIN, "serve", "--demo"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                conn = http.client.HTTPConnection(HOST, PORT, timeout=1)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        token = subprocess.run([BIN, "token", "--sub", "hostile", "--role", "editor"], env=env, capture_output=True, text=True, check=True).stdout.strip()
        _, body, _ = post({"query": "{ projects(first: 1) { edges { node { id } } } }"})
        project = body["data"]["projects"]["edges"][0]["node"]["id"]
        print(f"server pid {server.pid}, RSS at start {rss_now(server.pid) // 1024} MB", flush=True)
        monitors = Monitors(server.pid)
        monitors.start()
        slow = threading.Thread(target=attack_slow_body)
        slow.start()
        attack_documents()
        attack_idempotency(token)
        attack_websocket_size(server.pid)
        attack_subscriptions(project)
        attack_methods(server.pid)
        attack_idle_sockets()
        slow.join()
        monitors.stop.set()
        time.sleep(0.2)
        print()
        print(f"/healthz: {monitors.health_count} probes, slowest {monitors.health_max * 1000:.1f} ms, {monitors.health_failures} failed")
        print(f"well-behaved client: {monitors.client_count} queries, slowest {monitors.client_max * 1000:.1f} ms, errors {monitors.client_errors[:5]} ({len(monitors.client_errors)})")
        print(f"server RSS: peak {monitors.rss_max_kb // 1024} MB")
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
