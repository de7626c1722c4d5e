#!/usr/bin/env python3
"""Rollback at the floor: `cutover rollback` against what a human would type, side by side.

Starts, on 127.0.0.1 with ports picked at run time, `cutover sim serve`, HAProxy (admin
socket), nginx (an upstream file) and moto (the AWS API emulator with an ALB), then times,
interleaved in one run, each backend's `cutover rollback` (the whole process) against the
human's command:

    sim      curl -X PUT …/control/weights
    haproxy  socat: `set weight` ×2, and `set weight` ×2 + `get weight` ×2
    nginx    sed on the upstream file + `nginx -t` + `nginx -s reload`
    alb      aws elbv2 modify-listener

Before each timed pair, traffic is put back at 10 % green (untimed). Prints medians,
min/max and the ratio, and counts the backend calls of one rollback (moto's request
recorder for the ALB; connect(2) calls to the socket, by strace, for HAProxy).

    usage: benches/switch.sh [ROUNDS]      (ROUNDS: 20 by default)

Needs the release binary, curl, socat, haproxy, nginx, moto_server (pip install
'moto[server]'), boto3 and the aws CLI (benches/switch.sh installs the CLI in a venv under
target/ when it is missing); strace for the call counts (optional).
"""
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "cutover")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
QUIET = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, secs=20):
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {secs} s")


def timed(cmd, env=None, shell=False):
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, shell=shell, **QUIET)
    ms = (time.perf_counter() - t) * 1000
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {cmd}")
    return ms


def cutover(cfg, *args, env=None):
    return [BIN, "--config", cfg, *args]


def row(name, ours, theirs, human):
    m, h = statistics.median(ours), statistics.median(theirs)
    print(
        f"| {name} | {m:.1f} ms ({min(ours):.1f}–{max(ours):.1f}) | {human} {h:.1f} ms "
        f"({min(theirs):.1f}–{max(theirs):.1f}) | {m / h:.2f} |"
    )


def bench(name, cfg, human_cmd, human_name, env=None, shell=False, reset=None):
    ours, theirs = [], []
    for i in range(ROUNDS):
        pair = [("ours", cutover(cfg, "rollback")), ("theirs", human_cmd)]
        if i % 2:
            pair.reverse()
        for who, cmd in pair:
            if reset:
                reset()
            else:
                subprocess.run(cutover(cfg, "set", "10", "--yes"), env=env, **QUIET)
            ms = timed(cmd, env=env, shell=(shell and who == "theirs"))
            (ours if who == "ours" else theirs).append(ms)
    row(name, ours, theirs, human_name)
    return ours, theirs


def strace_connects(cfg, needle, env=None):
    if not shutil.which("strace"):
        return None
    subprocess.run(cutover(cfg, "set", "10", "--yes"), env=env, **QUIET)
    with tempfile.NamedTemporaryFile("r") as f:
        subprocess.run(["strace", "-f", "-e", "trace=connect", "-o", f.name,
                        *cutover(cfg, "rollback")], env=env, **QUIET)
        return sum(1 for line in open(f.name) if "connect(" in line and needle in line)


class Cockpit:
    """The real cockpit on a pseudo-terminal (120 x 32), driven by key bytes written to it;
    a write counts as verified when its result line is in the journal (written after the
    read-back)."""

    def __init__(self, cfg, journal, env=None):
        import fcntl
        import pty
        import struct
        import termios
        self.journal = journal
        pid, fd = pty.fork()
        if pid == 0:
            os.environ.update(env or {})
            os.environ["TERM"] = "xterm-256color"
            os.execv(BIN, [BIN, "--config", cfg])
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 32, 120, 0, 0))
        self.seen = self._size()
        self._drain(3.0)

    def _size(self):
        try:
            return os.path.getsize(self.journal)
        except OSError:
            return 0

    def _drain(self, secs):
        """Reads the screen output away (the cockpit blocks on a full pty otherwise)."""
        import select
        end = time.time() + secs
        while time.time() < end:
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                try:
                    os.read(self.fd, 65536)
                except OSError:
                    return

    def press(self, key, until, secs=15):
        """Writes `key`; returns ms until a journal line holding every word of `until`."""
        import select
        start = self.seen
        t = time.perf_counter()
        os.write(self.fd, key)
        end = time.time() + secs
        while time.time() < end:
            r, _, _ = select.select([self.fd], [], [], 0.0002)
            if r:
                try:
                    os.read(self.fd, 65536)
                except OSError:
                    pass
            if self._size() > start:
                with open(self.journal) as f:
                    f.seek(start)
                    text = f.read()
                for line in text.splitlines(keepends=True):
                    if not line.endswith("\n"):
                        break
                    start += len(line.encode())
                    if all(w in line for w in until):
                        self.seen = start
                        return (time.perf_counter() - t) * 1000
        raise SystemExit(f"no journal line with {until} within {secs} s after {key!r}")

    def quit(self):
        os.write(self.fd, b"q")
        self._drain(1.0)
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)


COCKPIT = []


def cockpit_rounds(name, cfg, journal, floor, env=None):
    """The warm cockpit: `1` `y` (to 10 %), then `r`, timed key → verified, against
    `floor()` (the bare write + read-back, warm, from Python), interleaved."""
    c = Cockpit(cfg, journal, env)
    keys, floors = [], []
    try:
        for _ in range(ROUNDS):
            os.write(c.fd, b"1")
            c._drain(0.2)
            c.press(b"y", ['"phase":"result"', '"share_after":10'])
            keys.append(c.press(b"r", ['"phase":"result"', '"action":"rollback"']))
            floors.append(floor())
    finally:
        c.quit()
    COCKPIT.append((name, keys, floors))


def main():
    if not os.path.exists(BIN):
        raise SystemExit("build first: cargo build --release")
    work = tempfile.mkdtemp(prefix="cutover-switch-")
    # cutover keeps HAProxy's lease and record store in the temp folder: this run's, so
    # they go with it.
    os.environ["TMPDIR"] = work
    procs = []
    nginx_dir = None
    try:
        print(f"rounds: {ROUNDS}, interleaved; machine: {os.cpu_count()} cores\n")
        print("| switch | `cutover rollback` (whole process) | what a human types | ratio |")
        print("|---|---|---|---|")
        # The simulator: also the two envs HAProxy and nginx front.
        sim = subprocess.Popen([BIN, "sim", "serve", "--scenario", "happy", "--no-sleep",
                                "--control", "127.0.0.1:0", "--blue", "127.0.0.1:0",
                                "--green", "127.0.0.1:0"], stdout=subprocess.PIPE,
                               stderr=open(os.path.join(work, "sim.log"), "w"))
        procs.append(sim)
        addrs = json.loads(sim.stdout.readline())
        sim_cfg = os.path.join(work, "sim.toml")
        with open(sim_cfg, "w") as f:
            f.write(f'name = "bench-sim"\njournal = "{work}/sim.jsonl"\nlive = "blue"\n'
                    f'[backend]\nkind = "sim"\ncontrol = "{addrs["control"]}"\n')
        curl = ["curl", "-s", "-f", "-X", "PUT", "-H", "content-type: application/json",
                "-d", '{"blue":100,"green":0}', f'http://{addrs["control"]}/control/weights']
        bench("sim", sim_cfg, curl, "`curl -X PUT`")
        import http.client
        host, port = addrs["control"].split(":")
        conn = http.client.HTTPConnection(host, int(port))

        def sim_floor():
            t = time.perf_counter()
            conn.request("PUT", "/control/weights", body=b'{"blue":100,"green":0}',
                         headers={"content-type": "application/json"})
            conn.getresponse().read()
            conn.request("GET", "/control/weights")
            conn.getresponse().read()
            return (time.perf_counter() - t) * 1000
        cockpit_rounds("sim", sim_cfg, f"{work}/sim.jsonl", sim_floor)

        # HAProxy with an admin socket.
        sock = os.path.join(work, "haproxy.sock")
        fe = free_port()
        with open(os.path.join(work, "haproxy.cfg"), "w") as f:
            f.write(f"""global
  stats socket {sock} level admin
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:{fe}
  default_backend app
backend app
  server blue {addrs["blue"]} weight 100
  server green {addrs["green"]} weight 0
""")
        hap = subprocess.Popen(["haproxy", "-db", "-f", os.path.join(work, "haproxy.cfg")],
                               stdout=open(os.path.join(work, "haproxy.log"), "w"),
                               stderr=subprocess.STDOUT)
        procs.append(hap)
        wait_port(fe)
        hap_cfg = os.path.join(work, "haproxy.toml")
        with open(hap_cfg, "w") as f:
            f.write(f'name = "bench-haproxy"\njournal = "{work}/haproxy.jsonl"\nlive = "blue"\n'
                    f'[backend]\nkind = "haproxy"\nsocket = "{sock}"\nbackend = "app"\n'
                    f'blue-server = "blue"\ngreen-server = "green"\n')
        set_only = f'echo "set weight app/blue 100; set weight app/green 0" | socat stdio UNIX-CONNECT:{sock}'
        set_get = (f'echo "set weight app/blue 100; set weight app/green 0; get weight app/blue;'
                   f' get weight app/green" | socat stdio UNIX-CONNECT:{sock}')
        bench("HAProxy", hap_cfg, set_only, "socat set ×2", shell=True)
        bench("HAProxy", hap_cfg, set_get, "socat set ×2 + get ×2", shell=True)

        def hap_floor():
            t = time.perf_counter()
            c = socket.socket(socket.AF_UNIX)
            c.connect(sock)
            c.sendall(b"set weight app/blue 100; set weight app/green 0; get weight app/blue;"
                      b" get weight app/green\n")
            while c.recv(4096):
                pass
            c.close()
            return (time.perf_counter() - t) * 1000
        cockpit_rounds("HAProxy", hap_cfg, f"{work}/haproxy.jsonl", hap_floor)

        # nginx fronting the same envs, weights in an upstream file.
        nginx_dir = os.path.join(work, "nginx")
        os.makedirs(nginx_dir)
        np = free_port()
        with open(os.path.join(nginx_dir, "nginx.conf"), "w") as f:
            f.write(f"""worker_processes 1;
pid nginx.pid;
error_log error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
    include upstream.conf;
    server {{ listen 127.0.0.1:{np}; location / {{ proxy_pass http://app; }} }}
}}
""")
        up = os.path.join(nginx_dir, "upstream.conf")
        with open(up, "w") as f:
            f.write(f'upstream app {{\n    server {addrs["blue"]} weight=100;\n    server {addrs["green"]} down;\n}}\n')
        nginx = ["nginx", "-p", nginx_dir + "/", "-c", "nginx.conf", "-e", "error.log"]
        subprocess.run(nginx, check=True, **QUIET)
        wait_port(np)
        ngx_cfg = os.path.join(work, "nginx.toml")
        with open(ngx_cfg, "w") as f:
            f.write(f'name = "bench-nginx"\njournal = "{work}/nginx.jsonl"\nlive = "blue"\n'
                    f'[backend]\nkind = "nginx"\nconfig = "{up}"\nupstream = "app"\n'
                    f'blue-server = "{addrs["blue"]}"\ngreen-server = "{addrs["green"]}"\n'
                    f'test-command = {json.dumps(["nginx", "-t", "-q"] + nginx[1:])}\n'
                    f'reload-command = {json.dumps(["nginx", "-s", "reload"] + nginx[1:])}\n')
        by_hand = (f"sed -i -e 's/^\\( *server {addrs['blue']}\\).*;/\\1 weight=100;/' "
                   f"-e 's/^\\( *server {addrs['green']}\\).*;/\\1 down;/' {up} && "
                   f"{' '.join(nginx[:1] + ['-t', '-q'] + nginx[1:])} && "
                   f"{' '.join(nginx[:1] + ['-s', 'reload'] + nginx[1:])}")
        bench("nginx", ngx_cfg, by_hand, "sed + `nginx -t` + reload", shell=True)
        cockpit_rounds("nginx", ngx_cfg, f"{work}/nginx.jsonl",
                       lambda: timed(by_hand, shell=True))

        # The ALB, in moto.
        mp = free_port()
        moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(mp)], cwd=work,
                                env=dict(os.environ, MOTO_RECORDER_FILEPATH=os.path.join(work, "moto_recording")),
                                stdout=open(os.path.join(work, "moto.log"), "w"),
                                stderr=subprocess.STDOUT)
        procs.append(moto)
        wait_port(mp)
        endpoint = f"http://127.0.0.1:{mp}"
        alb_dir = os.path.join(work, "alb")
        os.makedirs(alb_dir)
        subprocess.run([sys.executable, os.path.join(ROOT, "demo", "alb", "setup.py"),
                        "--endpoint", endpoint, "--out", alb_dir], check=True, **QUIET)
        res = json.load(open(os.path.join(alb_dir, "resources.json")))
        alb_cfg = os.path.join(alb_dir, "cutover.toml")
        text = open(alb_cfg).read().replace(
            'name = "checkout-api"\n',
            f'name = "bench-alb"\njournal = "{work}/alb.jsonl"\nlive = "blue"\n', 1)
        with open(alb_cfg, "w") as f:
            f.write(text)
        env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_DEFAULT_REGION="eu-west-1", AWS_EC2_METADATA_DISABLED="true")
        listener = res["listener"]
        actions = json.dumps([{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": res["blue"], "Weight": 100},
            {"TargetGroupArn": res["green"], "Weight": 0}]}}])
        aws = os.environ.get("AWS_CLI", "aws")
        human = [aws, "elbv2", "modify-listener", "--endpoint-url", endpoint,
                 "--listener-arn", listener, "--default-actions", actions]
        alb_env = dict(env)
        ours, theirs = bench("ALB (moto)", alb_cfg, human, "`aws elbv2 modify-listener`",
                             env=alb_env, reset=lambda: subprocess.run(
                                 cutover(alb_cfg, "set", "10", "--yes"), env=alb_env, check=True, **QUIET))

        import boto3
        elb = boto3.client("elbv2", endpoint_url=endpoint, region_name="eu-west-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        elb.describe_listeners(ListenerArns=[listener])

        def alb_floor():
            t = time.perf_counter()
            elb.modify_listener(ListenerArn=listener, DefaultActions=json.loads(actions))
            elb.describe_listeners(ListenerArns=[listener])
            return (time.perf_counter() - t) * 1000
        cockpit_rounds("ALB (moto)", alb_cfg, f"{work}/alb.jsonl", alb_floor, env=alb_env)

        # Calls per rollback.
        subprocess.run(cutover(alb_cfg, "set", "10", "--yes"), env=alb_env, **QUIET)
        post = lambda p: urllib.request.urlopen(urllib.request.Request(
            endpoint + p, data=b"", method="POST")).read()
        post("/moto-api/recorder/reset-recording")
        post("/moto-api/recorder/start-recording")
        t = time.perf_counter()
        subprocess.run(cutover(alb_cfg, "rollback"), env=alb_env, **QUIET)
        post("/moto-api/recorder/stop-recording")
        rec = urllib.request.urlopen(endpoint + "/moto-api/recorder/download-recording").read()
        calls = []
        for line in rec.decode().splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            body = r.get("body") or ""
            if r.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            body = urllib.parse.unquote_plus(body)
            action = next((kv.split("=", 1)[1] for kv in body.split("&")
                           if kv.startswith("Action=")), r.get("url", "?"))
            calls.append(action)
        print(f"\nALB calls in one `cutover rollback`: {len(calls)}: {' → '.join(calls)}")
        # Route53 weighted records, in the same moto: the human sends both records back
        # with the new weights in one batch (TTL, value and health check as they are).
        r53 = json.loads(subprocess.run(
            [sys.executable, os.path.join(ROOT, "demo", "route53", "setup.py"),
             "--endpoint", endpoint], check=True, capture_output=True, text=True).stdout)
        r53_cfg = os.path.join(work, "route53.toml")
        with open(r53_cfg, "w") as f:
            f.write(f'name = "bench-route53"\njournal = "{work}/route53.jsonl"\nlive = "blue"\n'
                    f'[backend]\nkind = "route53"\nhosted-zone-id = "{r53["zone"]}"\n'
                    f'record-name = "www.example.com"\nrecord-type = "A"\n'
                    f'blue-set-identifier = "blue"\ngreen-set-identifier = "green"\n'
                    f'endpoint-url = "{endpoint}"\n')

        def upsert(ident, weight, ip, check=None):
            rrs = {"Name": "www.example.com.", "Type": "A", "SetIdentifier": ident,
                   "Weight": weight, "TTL": 60, "ResourceRecords": [{"Value": ip}]}
            if check:
                rrs["HealthCheckId"] = check
            return {"Action": "UPSERT", "ResourceRecordSet": rrs}
        batch = json.dumps({"Changes": [upsert("blue", 100, "192.0.2.10", r53["health_check"]),
                                        upsert("green", 0, "192.0.2.20")]})
        human = [aws, "route53", "change-resource-record-sets", "--endpoint-url", endpoint,
                 "--hosted-zone-id", r53["zone"], "--change-batch", batch]
        bench("Route53 (moto)", r53_cfg, human, "`aws route53 change-resource-record-sets`",
              env=alb_env, reset=lambda: subprocess.run(
                  cutover(r53_cfg, "set", "10", "--yes"), env=alb_env, check=True, **QUIET))

        # Elastic Beanstalk, on the demo's stand-in (no emulator has the swap), its swap
        # finishing at once: the human's swap call returns before EB is Ready again, so
        # waiting for it (what cutover does) would only add the stand-in's polls to ours.
        ebp = free_port()
        eb = subprocess.Popen([sys.executable, os.path.join(ROOT, "demo", "eb", "server.py"),
                               "--port", str(ebp), "--updating-polls", "0"],
                              stdout=open(os.path.join(work, "eb.log"), "w"),
                              stderr=subprocess.STDOUT)
        procs.append(eb)
        wait_port(ebp)
        eb_cfg = os.path.join(work, "eb.toml")
        with open(eb_cfg, "w") as f:
            f.write(f'name = "bench-eb"\njournal = "{work}/eb.jsonl"\n'
                    f'[backend]\nkind = "elastic-beanstalk"\napplication = "checkout"\n'
                    f'blue-environment = "checkout-blue"\ngreen-environment = "checkout-green"\n'
                    f'production-cname = "checkout-prod.us-east-1.elasticbeanstalk.com"\n'
                    f'region = "us-east-1"\nendpoint-url = "http://127.0.0.1:{ebp}"\n')
        human = [aws, "elasticbeanstalk", "swap-environment-cnames", "--region", "us-east-1",
                 "--endpoint-url", f"http://127.0.0.1:{ebp}",
                 "--source-environment-name", "checkout-blue",
                 "--destination-environment-name", "checkout-green"]
        bench("Elastic Beanstalk (stand-in)", eb_cfg, human,
              "`aws elasticbeanstalk swap-environment-cnames`", env=alb_env,
              reset=lambda: subprocess.run(cutover(eb_cfg, "set", "100", "--yes"),
                                           env=alb_env, check=True, **QUIET))

        n = strace_connects(hap_cfg, "haproxy.sock")
        if n is not None:
            print(f"HAProxy socket connections in one `cutover rollback`: {n}")
        print("\nThe warm cockpit: key `r` → its result in the journal (after the read-back),")
        print("against the bare write + read-back from a warm Python client, interleaved.\n")
        print("| switch | cockpit key `r` → verified | floor: write + read-back | ratio |")
        print("|---|---|---|---|")
        for name, keys, floors in COCKPIT:
            m, f = statistics.median(keys), statistics.median(floors)
            print(f"| {name} | {m:.2f} ms ({min(keys):.2f}–{max(keys):.2f}) | "
                  f"{f:.2f} ms ({min(floors):.2f}–{max(floors):.2f}) | {m / f:.2f} |")
    finally:
        if nginx_dir:
            subprocess.run(["nginx", "-s", "quit", "-p", nginx_dir + "/", "-c", "nginx.conf",
                            "-e", "error.log"], **QUIET)
        for p in procs:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
