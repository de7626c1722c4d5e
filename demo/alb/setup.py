#!/usr/bin/env python3
"""Create an ALB with a blue and a green target group in an AWS API emulator (moto), so
cutover's `alb` backend can be tried with no AWS account.

    pip install 'moto[server]'
    moto_server -H 127.0.0.1 -p 5000 &
    python3 demo/alb/setup.py --endpoint http://127.0.0.1:5000 --out demo/alb

It creates a VPC, two subnets, an ALB, target groups `blue` and `green` (one target each),
a listener whose default action forwards 100/0 to them (with stickiness), a rule on that
listener doing the same for /api/*, and a second listener whose default action is a
redirect (what cutover must refuse to touch). It prints the ARNs as JSON and, with --out,
writes them to resources.json and a cutover.toml for the listener.
"""
import argparse
import json
import os
import sys

import boto3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True, help="the emulator, e.g. http://127.0.0.1:5000")
    ap.add_argument("--region", default="eu-west-1")
    ap.add_argument("--out", help="a folder for resources.json and cutover.toml")
    a = ap.parse_args()

    kw = dict(
        endpoint_url=a.endpoint,
        region_name=a.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ec2 = boto3.client("ec2", **kw)
    elb = boto3.client("elbv2", **kw)

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{a.region}{az}")["Subnet"]["SubnetId"]
        for cidr, az in (("10.0.1.0/24", "a"), ("10.0.2.0/24", "b"))
    ]
    lb = elb.create_load_balancer(Name="checkout", Subnets=subnets, Type="application")["LoadBalancers"][0]
    groups = {}
    for env, ip in (("blue", "10.0.1.10"), ("green", "10.0.2.10")):
        tg = elb.create_target_group(
            Name=f"checkout-{env}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip",
            HealthCheckPath="/health",
        )["TargetGroups"][0]["TargetGroupArn"]
        elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": ip, "Port": 8080}])
        groups[env] = tg

    forward = {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": groups["blue"], "Weight": 999},
                {"TargetGroupArn": groups["green"], "Weight": 0},
            ],
            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300},
        },
    }
    listener = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[forward]
    )["Listeners"][0]["ListenerArn"]
    rule = elb.create_rule(
        ListenerArn=listener,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
        Actions=[forward],
    )["Rules"][0]["RuleArn"]
    redirect = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8081,
        DefaultActions=[{
            "Type": "redirect",
            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
        }],
    )["Listeners"][0]["ListenerArn"]

    res = {
        "region": a.region,
        "endpoint": a.endpoint,
        "load_balancer": lb["LoadBalancerArn"],
        "listener": listener,
        "rule": rule,
        "redirect_listener": redirect,
        "blue": groups["blue"],
        "green": groups["green"],
    }
    json.dump(res, sys.stdout, indent=2)
    print()
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "resources.json"), "w") as f:
            json.dump(res, f, indent=2)
        with open(os.path.join(a.out, "cutover.toml"), "w") as f:
            f.write(f"""# Written by demo/alb/setup.py for the emulator at {a.endpoint}.
# Credentials come from the standard AWS chain; for the emulator any will do:
#   AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing cutover --config cutover.toml
name = "checkout-api"
poll-interval = "1s"

[backend]
kind = "alb"
listener-arn = "{listener}"
blue-target-group = "{groups['blue']}"
green-target-group = "{groups['green']}"
region = "{a.region}"
endpoint-url = "{a.endpoint}"
""")


if __name__ == "__main__":
    main()
