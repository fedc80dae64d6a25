"""The daemon's part of `make bench`: sustained records/s of `vigil run` following a file, and
the latency from a line being appended to its webhook arriving at a loopback receiver.

Called by scripts/bench.py, which passes the `vigil scan` figures measured in the same run and
adds the section this returns to BENCHMARKS.md. Can also run alone:
    python3 scripts/bench_daemon.py /tmp/bench
"""
import http.server
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

VIGIL = ".build/release/vigil"
RISKY = "女性通常不擅长逻辑推理，这类任务更适合男性。"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def metric_sum(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def wait_ready(port, proc, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"vigil run exited with {proc.returncode}")
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise SystemExit("vigil run did not become ready")


def write_config(dirname, rules, port, receiver=None, start_at="beginning"):
    lines = [
        f"state_dir: {dirname}/state",
        f"rules: [{', '.join(rules)}]",
        "print_alerts: none",
        "sources:",
        f"  - {{name: bench, type: file, paths: [\"{dirname}/logs/*.jsonl\"], start_at: {start_at}}}",
        f"http: {{listen: \"127.0.0.1:{port}\"}}",
    ]
    if receiver:
        lines += ["receivers:", f"  - {{name: bench, type: webhook, url: \"{receiver}\", timeout: 5}}"]
    path = f"{dirname}/vigil.yaml"
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def throughput(corpus, rules, lines, runs, scan_two_cmd, start_s):
    """Per run, seconds from ready to every line of the corpus processed, and the seconds
    `scan_two_cmd` took just before (start-up taken out): the machine is shared and its speed
    drifts, so each daemon run is compared with a scan run made next to it."""
    times, scans = [], []
    for _ in range(runs):
        t = time.time()
        subprocess.run(scan_two_cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        scans.append(max(0.001, time.time() - t - start_s))
        d = tempfile.mkdtemp(prefix="vigil-bench-daemon-")
        try:
            os.makedirs(f"{d}/logs")
            os.symlink(corpus, f"{d}/logs/corpus.jsonl")
            port = free_port()
            config = write_config(d, rules, port)
            proc = subprocess.Popen([VIGIL, "run", "--config", config], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                wait_ready(port, proc)
                start = time.time()
                # Polled every 0.1 s, not faster: the poller shares the machine's two cores with
                # the daemon it measures. The end is the daemon's own clock: the moment its loop
                # found nothing more to read, published at once (vigil_caught_up_time_seconds).
                poll = 0.1
                while metric_sum(port, "vigil_lines_total") < lines:
                    if time.time() - start > 600:
                        raise SystemExit("the daemon did not finish the corpus in 10 minutes")
                    time.sleep(poll)
                # The lines may be counted a moment before the loop runs out of input: wait
                # for the moment it did to be published and to stay put.
                end, previous = 0.0, -1.0
                while end <= start or end != previous:
                    if time.time() - start > 600:
                        raise SystemExit("the daemon did not catch up in 10 minutes")
                    previous = end
                    time.sleep(poll)
                    end = metric_sum(port, "vigil_caught_up_time_seconds")
                times.append(end - start)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return times, scans


class Arrivals:
    def __init__(self):
        self.lock = threading.Lock()
        self.at = {}


def receiver(arrivals):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One send per answer: with Nagle on, the body waits for the ACK of the head (40 ms).
        disable_nagle_algorithm = True

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            now = time.time()
            try:
                alert = json.loads(body).get("alert", {})
                rid = alert.get("labels", {}).get("request_id", "")
                if rid.startswith("lat-"):
                    with arrivals.lock:
                        arrivals.at.setdefault(rid, now)
            except ValueError:
                pass
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def latency(corpus, rules, rate=10_000, seconds=10, planted_every=100):
    """Appends corpus lines at `rate` records/s with a planted risky output every
    `planted_every` lines; returns (latencies in ms, lines written, achieved rate)."""
    arrivals = Arrivals()
    server = receiver(arrivals)
    d = tempfile.mkdtemp(prefix="vigil-bench-latency-")
    try:
        os.makedirs(f"{d}/logs")
        log = f"{d}/logs/app.jsonl"
        open(log, "w").close()
        port = free_port()
        config = write_config(d, rules, port, receiver=f"http://127.0.0.1:{server.server_port}/hook")
        proc = subprocess.Popen([VIGIL, "run", "--config", config], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        appended = {}
        written = 0
        try:
            wait_ready(port, proc)
            source = open(corpus, "rb")
            batch = rate // 100  # every 10 ms
            start = time.time()
            n = 0
            with open(log, "ab", buffering=0) as out:
                while time.time() - start < seconds:
                    chunk = []
                    for _ in range(batch):
                        n += 1
                        if n % planted_every == 0:
                            rid = f"lat-{n}"
                            record = {"request_id": rid, "user_id": "bench", "direction": "output", "text": RISKY}
                            chunk.append(json.dumps(record, ensure_ascii=False).encode() + b"\n")
                        else:
                            line = source.readline()
                            if not line:
                                source.seek(0)
                                line = source.readline()
                            chunk.append(line if line.endswith(b"\n") else line + b"\n")
                    out.write(b"".join(chunk))
                    now = time.time()
                    for k in range(n - batch + 1, n + 1):
                        if k % planted_every == 0:
                            appended[f"lat-{k}"] = now
                    written = n
                    next_tick = start + (n / rate)
                    pause = next_tick - time.time()
                    if pause > 0:
                        time.sleep(pause)
            elapsed = time.time() - start
            deadline = time.time() + 30
            while time.time() < deadline:
                with arrivals.lock:
                    if len(arrivals.at) >= len(appended):
                        break
                time.sleep(0.05)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        with arrivals.lock:
            lat = [(arrivals.at[r] - t) * 1000 for r, t in appended.items() if r in arrivals.at]
        missing = len(appended) - len(lat)
        return lat, written, written / elapsed, missing
    finally:
        server.shutdown()
        shutil.rmtree(d, ignore_errors=True)


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def section(bench, corpus, rules, lines, scan_one_s, scan_two_s, start_s, scan_two_cmd, runs=3):
    times, scans = throughput(corpus, rules, lines, runs, scan_two_cmd, start_s)
    ratios = [s / t for s, t in zip(scans, times)]
    med = statistics.median(times)
    daemon_rate = lines / med
    one_rate = lines / max(0.001, scan_one_s - start_s)
    two_rate = lines / max(0.001, scan_two_s - start_s)
    lat, written, achieved, missing = latency(corpus, rules)
    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    fmt = ", ".join(f"{t:.2f}" for t in times)
    fmt_scans = ", ".join(f"{t:.2f}" for t in scans)
    fmt_ratios = ", ".join(f"{r:.0%}" for r in ratios)
    rule_args = " ".join(f"--rules {r}" for r in rules)
    return f"""
## The daemon (`vigil run`)

Sustained rate: `vigil run` follows a file holding the whole corpus (a symlink in a fresh state
directory, `start_at: beginning`, HTTP API on loopback) and the clock runs from `/readyz`
answering until the daemon's loop has processed all {lines:,} lines and found nothing more to
read (`vigil_caught_up_time_seconds`, read once `vigil_lines_total` reaches {lines:,}; the
status was published every 0.25 s before, which made these times steps of a quarter second).
The loop thread reads, raises the
alerts and scans blocks of lines; one helper thread scans blocks too. Each daemon run comes
right after a run of `vigil scan` on two cores (start-up, {start_s:.2f} s, taken out), so that
the two are compared at the same moment of this shared machine.

| what | median s | runs (s) | records/s |
|---|---:|---|---:|
| vigil run, following the corpus | {med:.2f} | {fmt} | {daemon_rate:,.0f} |
| vigil scan, two cores, run next to each daemon run | {statistics.median(scans):.2f} | {fmt_scans} | {lines / statistics.median(scans):,.0f} |
| vigil scan, one core (the throughput table above) | {scan_one_s - start_s:.2f} | | {one_rate:,.0f} |
| vigil scan, two cores (the throughput table above) | {scan_two_s - start_s:.2f} | | {two_rate:,.0f} |

- The daemon runs at **{statistics.median(ratios):.0%} of `vigil scan` on two cores** (median of
  the run-by-run ratios: {fmt_ratios}; target: no lower than 80%); against the throughput table's
  medians, {daemon_rate / two_rate:.0%} of two cores and {daemon_rate / one_rate:.0%} of one.

Latency: lines from the corpus appended to a followed file at {achieved:,.0f} records/s for 10 s
(batches every 10 ms; asked for 10,000/s), a planted risky output every 100 lines; a loopback
receiver (Python `http.server`) notes when each planted alert's webhook arrives.

- {len(lat):,} planted alerts arrived ({missing} missing): **p50 {p50:.0f} ms, p99 {p99:.0f} ms**
  from the append to the webhook (target p99 ≤ 250 ms at 10,000 records/s).
- Rules: `{rule_args}`; `python3 scripts/bench_daemon.py {bench}` repeats this section alone.
"""


if __name__ == "__main__":
    bench = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench")
    corpus = f"{bench}/corpus.jsonl"
    rules = [os.path.abspath("rules"), f"{bench}/rules"]
    lines = sum(1 for _ in open(corpus, "rb"))

    def timed(cmd):
        t = time.time()
        subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.time() - t

    r = " ".join(f"--rules {x}" for x in rules)
    start = timed(f"{VIGIL} scan {r} --output jsonl --summary none --jobs 1 - < /dev/null")
    one = timed(f"{VIGIL} scan {r} --output jsonl --summary none --jobs 1 {corpus}")
    two_cmd = f"{VIGIL} scan {r} --output jsonl --summary none --jobs 2 {corpus}"
    two = timed(two_cmd)
    print(section(bench, corpus, rules, lines, one, two, start, two_cmd, runs=int(os.environ.get("RUNS", "1"))))
