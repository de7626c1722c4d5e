#!/usr/bin/env python3
"""Create a hosted zone with two weighted records (blue and green) in an AWS API emulator
(moto), so cutover's Route53 backend can be tried with no AWS account.

    pip install 'moto[server]'
    moto_server -H 127.0.0.1 -p 5000 > moto.log 2>&1 &
    python3 demo/route53/setup.py --endpoint http://127.0.0.1:5000

It creates the zone `example.com.` and, for `www.example.com.`, weighted A records with
set identifiers `blue` (weight 100, 192.0.2.10) and `green` (weight 0, 192.0.2.20), TTL
60 and a health check on blue. With --third it adds a third weighted record `canary`; with
--failover-name NAME it adds a failover pair under NAME (what cutover must refuse); with
--ttl it sets another TTL. It prints the zone id and names as JSON.
"""
import argparse
import json
import sys

import boto3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True, help="the emulator, e.g. http://127.0.0.1:5000")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--ttl", type=int, default=60)
    ap.add_argument("--third", action="store_true", help="add a third weighted record, canary")
    ap.add_argument("--green-weight", type=int, default=0, help="green's weight (blue's is 100 minus it)")
    ap.add_argument("--failover-name", help="add a failover pair under this name")
    a = ap.parse_args()

    r53 = boto3.client(
        "route53",
        endpoint_url=a.endpoint,
        region_name=a.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    zone = r53.create_hosted_zone(Name="example.com.", CallerReference="cutover-demo")[
        "HostedZone"
    ]["Id"].split("/")[-1]
    check = r53.create_health_check(
        CallerReference="cutover-demo-blue",
        HealthCheckConfig={"IPAddress": "192.0.2.10", "Port": 80, "Type": "HTTP",
                           "ResourcePath": "/health"},
    )["HealthCheck"]["Id"]

    def weighted(set_id, weight, ip, health=None):
        rrs = {
            "Name": "www.example.com.",
            "Type": "A",
            "SetIdentifier": set_id,
            "Weight": weight,
            "TTL": a.ttl,
            "ResourceRecords": [{"Value": ip}],
        }
        if health:
            rrs["HealthCheckId"] = health
        return {"Action": "CREATE", "ResourceRecordSet": rrs}

    g = a.green_weight
    changes = [weighted("blue", 100 - g, "192.0.2.10", check), weighted("green", g, "192.0.2.20")]
    if a.third:
        changes.append(weighted("canary", 5, "192.0.2.30"))
    if a.failover_name:
        for role, ip in (("PRIMARY", "192.0.2.10"), ("SECONDARY", "192.0.2.20")):
            changes.append({"Action": "CREATE", "ResourceRecordSet": {
                "Name": a.failover_name, "Type": "A", "SetIdentifier": role.lower(),
                "Failover": role, "TTL": a.ttl, "ResourceRecords": [{"Value": ip}],
            }})
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})
    json.dump({
        "region": a.region,
        "endpoint": a.endpoint,
        "zone": zone,
        "name": "www.example.com.",
        "health_check": check,
    }, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
