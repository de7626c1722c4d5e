#!/usr/bin/env python3
"""A local stand-in for AWS Elastic Beanstalk, to try cutover's `elastic-beanstalk` backend on
a laptop: no emulator implements SwapEnvironmentCNAMEs.

Not an emulator: no signature checks, state in memory, and only what cutover calls, in the EB
Query API's shapes (POST /, form body, XML): DescribeEnvironments, SwapEnvironmentCNAMEs,
DescribeEnvironmentHealth, ListTagsForResource, UpdateTagsForResource. One application, two
environments: blue holds the production CNAME, green `<app>-stage.us-east-1...`. A swap needs
both `Ready`; both are then `Updating`, showing their old CNAMEs, for --updating-polls
DescribeEnvironments answers. Health is made-up traffic: 100-200 requests per 10 s to the env
holding the production CNAME (5-15 to the other), 0.2 % 5xx on blue, --green-error-rate on green, p99 about 0.2 s.

    python3 demo/eb/server.py --port 5001 > eb.log 2>&1 &
    curl '127.0.0.1:5001/control/status?env=green&status=Updating'   # any EB status
    curl '127.0.0.1:5001/control/error-rate?env=green&rate=0.1'      # 5xx share, 0..1
    curl 127.0.0.1:5001/control/state                                # both envs, JSON
"""
import argparse
import hashlib
import json
import random
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

XMLNS = "http://elasticbeanstalk.amazonaws.com/docs/2010-12-01/"
REGION, ACCOUNT = "us-east-1", "123456789012"
MAX_BODY = 64 * 1024  # a larger request is answered 413 unread
MAX_TAGS = 50  # EB's quota per resource
STATUSES = {"Aborting", "Launching", "LinkingFrom", "LinkingTo", "Ready", "Terminated",
            "Terminating", "Updating"}


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def env_id(name):
    return "e-" + hashlib.sha1(name.encode()).hexdigest()[:10]  # EB's shape, stable per name


class Refusal(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class World:
    def __init__(self, a):
        self.lock = threading.Lock()
        self.app, self.updating_polls, self.next_id = a.app, a.updating_polls, 0
        self.prod_cname = a.prod_cname
        self.app_tags = []
        at = now()
        self.envs = [self._env(a.blue, a.prod_cname, 0.002, "v1", at),
                     self._env(a.green, f"{a.app}-stage.{REGION}.elasticbeanstalk.com",
                               a.green_error_rate, "v2", at)]

    def _env(self, name, cname, rate, version, at):
        return {"name": name, "id": env_id(name), "version": version, "cname": cname,
                "shown_cname": None, "status": "Ready", "polls_left": 0, "error_rate": rate,
                "created": at, "updated": at,
                "tags": [("elasticbeanstalk:environment-name", name),
                         ("elasticbeanstalk:environment-id", env_id(name)), ("Name", name)]}

    def arn(self, e):
        return f"arn:aws:elasticbeanstalk:{REGION}:{ACCOUNT}:environment/{self.app}/{e['name']}"

    def app_arn(self):
        return f"arn:aws:elasticbeanstalk:{REGION}:{ACCOUNT}:application/{self.app}"

    def find(self, name, ident=None):
        for e in self.envs:
            if (name or ident) and name in (None, e["name"]) and ident in (None, e["id"]):
                return e
        return None

    def by_role(self, which):
        """`blue`, `green` or an environment's name (for the control endpoint)."""
        return {"blue": self.envs[0], "green": self.envs[1]}.get(which) or self.find(which)


def health(rate):
    """(Color, HealthStatus) for an error rate."""
    return ("Red", "Severe") if rate >= 0.05 else (
        ("Yellow", "Warning") if rate >= 0.01 else ("Green", "Ok"))


def member_list(p, key):
    """`KEY.member.1`, `KEY.member.2`, ... up to the first missing (bounded by MAX_TAGS)."""
    out = []
    while len(out) <= MAX_TAGS and p.get(f"{key}.member.{len(out) + 1}"):
        out.append(p[f"{key}.member.{len(out) + 1}"])
    return out


def describe_environments(w, p):
    names, ids = member_list(p, "EnvironmentNames"), member_list(p, "EnvironmentIds")
    out = ["<Environments>"]
    for e in w.envs:
        if ((p.get("ApplicationName") or w.app) != w.app or (names and e["name"] not in names)
                or (ids and e["id"] not in ids)
                or (p.get("IncludeDeleted") == "false" and e["status"] == "Terminated")):
            continue
        color, hs = health(e["error_rate"])
        out.append(
            f"<member><EnvironmentName>{escape(e['name'])}</EnvironmentName>"
            f"<EnvironmentId>{e['id']}</EnvironmentId><ApplicationName>{escape(w.app)}"
            f"</ApplicationName><VersionLabel>{e['version']}</VersionLabel>"
            "<SolutionStackName>64bit Amazon Linux 2023 v6.1.0 running Node.js 20"
            f"</SolutionStackName><EndpointURL>awseb-{e['id']}-stack.{REGION}.elb.amazonaws.com"
            f"</EndpointURL><CNAME>{escape(e['shown_cname'] or e['cname'])}</CNAME>"
            f"<DateCreated>{e['created']}</DateCreated><DateUpdated>{e['updated']}</DateUpdated>"
            f"<Status>{e['status']}</Status><AbortableOperationInProgress>false"
            f"</AbortableOperationInProgress><Health>{color}</Health><HealthStatus>{hs}"
            "</HealthStatus><Tier><Name>WebServer</Name><Type>Standard</Type><Version>1.0"
            f"</Version></Tier><EnvironmentLinks/><EnvironmentArn>{escape(w.arn(e))}"
            "</EnvironmentArn></member>")
    out.append("</Environments>")
    for e in w.envs:  # every poll moves a swap on; the last one ends it
        if e["polls_left"]:
            e["polls_left"] -= 1
            if not e["polls_left"]:
                e.update(shown_cname=None, status="Ready", updated=now())
    return "".join(out)


def swap(w, p):
    src = w.find(p.get("SourceEnvironmentName"), p.get("SourceEnvironmentId"))
    dst = w.find(p.get("DestinationEnvironmentName"), p.get("DestinationEnvironmentId"))
    if src is None or dst is None:
        raise Refusal("InvalidParameterValue", "No Environment found for the source or "
                      "destination (give both by name or both by id).")
    if src is dst:
        raise Refusal("InvalidParameterValue",
                      "The source and destination environments must be different.")
    for e in (src, dst):
        if e["status"] != "Ready":
            raise Refusal("InvalidParameterValue", f"Environment named {e['name']} is in an "
                          "invalid state for this operation. Must be Ready.")
    at, n = now(), w.updating_polls
    src["cname"], dst["cname"] = dst["cname"], src["cname"]
    for e, old in ((src, dst["cname"]), (dst, src["cname"])):
        e["updated"] = at
        if n > 0:
            e.update(shown_cname=old, status="Updating", polls_left=n)


def describe_health(w, p):
    e = w.find(p.get("EnvironmentName"), p.get("EnvironmentId"))
    if e is None:
        name = p.get("EnvironmentName") or p.get("EnvironmentId") or ""
        raise Refusal("InvalidRequestException", f"Environment {name} does not exist.")
    wanted = set(member_list(p, "AttributeNames"))
    want = lambda a: a in wanted or "All" in wanted  # noqa: E731
    color, hs = health(e["error_rate"])
    cause = f"{e['error_rate']:.1%} of the requests are failing with HTTP 5xx."
    out = f"<EnvironmentName>{escape(e['name'])}</EnvironmentName>" + "".join(
        f"<{k}>{v}</{k}>" for k, v in (("HealthStatus", hs), ("Status", e["status"]),
                                       ("Color", color)) if want(k))
    if want("Causes"):
        out += "<Causes/>" if color == "Green" else f"<Causes><member>{cause}</member></Causes>"
    if want("ApplicationMetrics"):
        # Users reach the env holding the production CNAME; the other sees testers' trickle.
        serving = (e["shown_cname"] or e["cname"]) == w.prod_cname
        reqs = random.randint(100, 200) if serving else random.randint(5, 15)
        exact = reqs * e["error_rate"]  # rounded up or down at random: 0.2 % shows now and then
        s5 = min(reqs, int(exact) + (random.random() < exact - int(exact)))
        s4 = min(reqs - s5, random.randint(0, 2))
        p99 = random.uniform(0.15, 0.25)
        lat = "".join(f"<{k}>{p99 * f:.3f}</{k}>" for k, f in (
            ("P999", 1.5), ("P99", 1), ("P95", 0.8), ("P90", 0.7), ("P85", 0.6),
            ("P75", 0.5), ("P50", 0.3), ("P10", 0.1)))
        out += (f"<ApplicationMetrics><Duration>10</Duration><RequestCount>{reqs}</RequestCount>"
                f"<StatusCodes><Status2xx>{reqs - s5 - s4}</Status2xx><Status3xx>0</Status3xx>"
                f"<Status4xx>{s4}</Status4xx><Status5xx>{s5}</Status5xx></StatusCodes>"
                f"<Latency>{lat}</Latency></ApplicationMetrics>")
    if want("InstancesHealth"):  # one instance, in the environment's state
        out += "<InstancesHealth>" + "".join(f"<{k}>{int(k == hs)}</{k}>" for k in (
            "NoData", "Unknown", "Pending", "Ok", "Info", "Warning", "Degraded", "Severe")) + \
            "</InstancesHealth>"
    if want("RefreshedAt"):
        out += f"<RefreshedAt>{now()}</RefreshedAt>"
    return out


def tagged(w, p):
    """The tag list ResourceArn names (the application's or an environment's), and its env."""
    arn = p.get("ResourceArn") or ""
    if arn == w.app_arn():
        return w.app_tags, None
    for e in w.envs:
        if w.arn(e) == arn:
            return e["tags"], e
    raise Refusal("ResourceNotFoundException", f"Resource {arn} not found.")


def list_tags(w, p):
    tags, _ = tagged(w, p)
    members = "".join(f"<member><Key>{escape(k)}</Key><Value>{escape(v)}</Value></member>"
                      for k, v in tags)
    return (f"<ResourceArn>{escape(p.get('ResourceArn'))}</ResourceArn>"
            f"<ResourceTags>{members}</ResourceTags>")


def update_tags(w, p):
    tags, env = tagged(w, p)
    if env is not None and env["status"] != "Ready":
        raise Refusal("OperationInProgressFailure", f"Environment named {env['name']} is in an "
                      "invalid state for this operation. Must be Ready.")
    add = []
    while len(add) <= MAX_TAGS and p.get(f"TagsToAdd.member.{len(add) + 1}.Key"):
        n = f"TagsToAdd.member.{len(add) + 1}"
        add.append((p[f"{n}.Key"], p.get(f"{n}.Value", "")))
    remove = member_list(p, "TagsToRemove")
    for k in [k for k, _ in add] + remove:
        if k.startswith(("aws:", "elasticbeanstalk:")):
            raise Refusal("InvalidParameterValue",
                          f"Tag key {k} uses a reserved prefix (aws: or elasticbeanstalk:).")
    for k, v in add:
        if len(v) > 256:
            raise Refusal("InvalidParameterValue", f"Tag value for key {k} is too long (256).")
    new = dict((k, v) for k, v in tags if k not in remove)
    new.update(add)
    if len(new) > MAX_TAGS:
        raise Refusal("TooManyTagsException", f"A resource can have at most {MAX_TAGS} tags.")
    tags[:] = list(new.items())


ACTIONS = {"DescribeEnvironments": describe_environments, "SwapEnvironmentCNAMEs": swap,
           "DescribeEnvironmentHealth": describe_health, "ListTagsForResource": list_tags,
           "UpdateTagsForResource": update_tags}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK expects
    timeout = 60  # an idle connection is closed (and its thread ends)
    world = None  # set in main()

    def reply(self, status, body, ctype="text/xml", rid=None):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if rid:
            self.send_header("x-amzn-RequestId", rid)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message, rid):
        kind = "Receiver" if status >= 500 else "Sender"
        self.reply(status, f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>{kind}</Type><Code>'
                   f"{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
                   f"<RequestId>{rid}</RequestId></ErrorResponse>", rid=rid)

    def do_POST(self):
        w, self.action = self.world, ""
        with w.lock:
            w.next_id += 1
            rid = f"{w.next_id:08x}-eb00-4000-8000-{w.next_id:012x}"
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if urlsplit(self.path).path != "/" or not 0 <= length <= MAX_BODY:
            self.close_connection = True  # the body is left unread
            return self.error(413 if length > MAX_BODY else 404, "InvalidRequest",
                              "Not an Elastic Beanstalk Query API request.", rid)
        p = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace")))
        action = self.action = p.get("Action", "")
        if not action:
            return self.error(400, "MissingAction", "The request is missing an action or a "
                              "required parameter.", rid)
        if action not in ACTIONS:
            return self.error(400, "InvalidAction",
                              f"The action {action} is not valid for this web service.", rid)
        try:
            with w.lock:
                result = ACTIONS[action](w, p)
        except Refusal as r:
            return self.error(r.status, r.code, r.message, rid)
        result = "" if result is None else f"<{action}Result>{result}</{action}Result>"
        self.reply(200, f'<{action}Response xmlns="{XMLNS}">{result}<ResponseMetadata>'
                   f"<RequestId>{rid}</RequestId></ResponseMetadata></{action}Response>", rid=rid)

    def do_GET(self):
        url, self.action = urlsplit(self.path), ""
        q, w = dict(parse_qsl(url.query)), self.world
        with w.lock:
            e = w.by_role(q.get("env", ""))
            try:
                if url.path == "/control/status" and e and q.get("status") in STATUSES:
                    e.update(status=q["status"], polls_left=0, shown_cname=None, updated=now())
                elif url.path == "/control/error-rate" and e and 0 <= float(q.get("rate")) <= 1:
                    e["error_rate"] = float(q["rate"])
                elif url.path != "/control/state":
                    raise ValueError
            except (TypeError, ValueError):
                return self.reply(400, '{"error": "see the docstring of demo/eb/server.py"}\n',
                                  "application/json")
            state = [{"name": x["name"], "cname": x["cname"], "shown_cname": x["shown_cname"],
                      "status": x["status"], "error_rate": x["error_rate"],
                      "tags": dict(x["tags"])} for x in w.envs]
            body = {"application": w.app, "app_tags": dict(w.app_tags), "environments": state}
        self.reply(200, json.dumps(body, indent=2) + "\n", "application/json")

    def log_message(self, fmt, *args):
        line = f"{self.log_date_time_string()} {fmt % args} {getattr(self, 'action', '')}"
        sys.stdout.write(line.rstrip() + "\n")  # one write: threads' lines do not interleave
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description="A local Elastic Beanstalk stand-in for cutover.")
    for flag, default in (("--host", "127.0.0.1"), ("--app", "checkout"),
                          ("--blue", "checkout-blue"), ("--green", "checkout-green"),
                          ("--prod-cname", "checkout-prod.us-east-1.elasticbeanstalk.com")):
        ap.add_argument(flag, default=default, help=f"default {default}")
    ap.add_argument("--port", type=int, default=5001)
    ap.add_argument("--updating-polls", type=int, default=4,
                    help="DescribeEnvironments answers showing a swap Updating (default 4)")
    ap.add_argument("--green-error-rate", type=float, default=0.0, help="5xx share, 0..1")
    a = ap.parse_args()
    if not 0 <= a.green_error_rate <= 1 or not 0 <= a.updating_polls <= 1000:
        ap.error("--green-error-rate takes 0..1, --updating-polls 0..1000")
    Handler.world = World(a)
    server = ThreadingHTTPServer((a.host, a.port), Handler)
    print(f"eb stand-in listening on http://{a.host}:{a.port} (drills: /control/state); "
          "in cutover.toml:\n[backend]\nkind = \"elastic-beanstalk\"\n"
          f'application = "{a.app}"\nblue-environment = "{a.blue}"\n'
          f'green-environment = "{a.green}"\nproduction-cname = "{a.prod_cname}"\n'
          f'region = "{REGION}"\nendpoint-url = "http://{a.host}:{a.port}"', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


if __name__ == "__main__":
    main()
