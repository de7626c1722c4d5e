//! The loopback CloudWatch (tests/common/cloudwatch.rs) against the real SDK client, over
//! Smithy RPC v2 CBOR: one GetMetricData of six queries parses into values and timestamps,
//! the window is [StartTime, EndTime), refusals carry CloudWatch's codes and messages, faults
//! hang or fail, and what is not GetMetricData is refused.
#![allow(clippy::too_many_lines)] // a test tells one story from start to end

mod common;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::config::Credentials;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataError, GetMetricDataOutput};
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, StatusCode,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::DateTime;
use common::cloudwatch::{Cw, Fault, Query};
use std::time::{Duration, Instant};

const NS: &str = "AWS/ApplicationELB";
const LB: &str = "app/checkout/50dc6c495c0c9188";
const TG_BLUE: &str = "targetgroup/checkout-blue/73e2d6bc24d8a067";
const TG_GREEN: &str = "targetgroup/checkout-green/1a2b3c4d5e6f7a8b";
/// A minute boundary.
const T0: i64 = 1_700_000_040;

/// A client of `url` without retries, one attempt cut at 2 s.
async fn client(url: &str) -> Client {
    let cfg = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(2))
                .build(),
        )
        .load()
        .await;
    Client::new(&cfg)
}

fn dim(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

/// `metric`'s `stat` over 60 s for target group `tg` of the load balancer.
fn query(id: &str, metric: &str, stat: &str, tg: &str) -> MetricDataQuery {
    query_period(id, metric, stat, tg, 60)
}

fn query_period(id: &str, metric: &str, stat: &str, tg: &str, period: i32) -> MetricDataQuery {
    query_builder(id, metric, stat, tg, period).build()
}

fn query_builder(
    id: &str,
    metric: &str,
    stat: &str,
    tg: &str,
    period: i32,
) -> aws_sdk_cloudwatch::types::builders::MetricDataQueryBuilder {
    MetricDataQuery::builder().id(id).metric_stat(
        MetricStat::builder()
            .metric(
                Metric::builder()
                    .namespace(NS)
                    .metric_name(metric)
                    .dimensions(dim("TargetGroup", tg))
                    .dimensions(dim("LoadBalancer", LB))
                    .build(),
            )
            .period(period)
            .stat(stat)
            .build(),
    )
}

/// The six queries of one poll: requests, 5xx and p99 of blue, then of green.
fn six() -> Vec<MetricDataQuery> {
    vec![
        query("req_blue", "RequestCount", "Sum", TG_BLUE),
        query("err_blue", "HTTPCode_Target_5XX_Count", "Sum", TG_BLUE),
        query("p99_blue", "TargetResponseTime", "p99", TG_BLUE),
        query("req_green", "RequestCount", "Sum", TG_GREEN),
        query("err_green", "HTTPCode_Target_5XX_Count", "Sum", TG_GREEN),
        query("p99_green", "TargetResponseTime", "p99", TG_GREEN),
    ]
}

async fn get(
    c: &Client,
    queries: Vec<MetricDataQuery>,
    start: i64,
    end: i64,
) -> Result<GetMetricDataOutput, SdkError<GetMetricDataError, HttpResponse>> {
    c.get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(DateTime::from_secs(start))
        .end_time(DateTime::from_secs(end))
        .send()
        .await
}

/// The HTTP status, code and message of a refused GetMetricData.
async fn refused(
    c: &Client,
    queries: Vec<MetricDataQuery>,
    start: i64,
    end: i64,
) -> (u16, String, String) {
    let e = get(c, queries, start, end).await.unwrap_err();
    let status = e.raw_response().unwrap().status().as_u16();
    (
        status,
        e.code().unwrap_or_default().to_string(),
        e.message().unwrap_or_default().to_string(),
    )
}

/// (id, label, timestamps in seconds, values, status) of a result.
type Got = (String, String, Vec<i64>, Vec<f64>, StatusCode);

/// Each result as `Got`.
fn results(out: &GetMetricDataOutput) -> Vec<Got> {
    out.metric_data_results()
        .iter()
        .map(|r| {
            (
                r.id().unwrap().to_string(),
                r.label().unwrap().to_string(),
                r.timestamps().iter().map(DateTime::secs).collect(),
                r.values().to_vec(),
                r.status_code().unwrap().clone(),
            )
        })
        .collect()
}

/// Three minutes of the six series from T0, the dimensions given in either order.
fn fill(s: &Cw) {
    let series: [(&str, &str, &str, [f64; 3]); 6] = [
        (TG_BLUE, "RequestCount", "Sum", [100.0, 110.0, 120.0]),
        (TG_BLUE, "HTTPCode_Target_5XX_Count", "Sum", [0.0, 1.0, 0.0]),
        (TG_BLUE, "TargetResponseTime", "p99", [0.120, 0.130, 0.125]),
        (TG_GREEN, "RequestCount", "Sum", [10.0, 11.0, 12.0]),
        (
            TG_GREEN,
            "HTTPCode_Target_5XX_Count",
            "Sum",
            [3.0, 0.0, 5.0],
        ),
        (TG_GREEN, "TargetResponseTime", "p99", [0.300, 0.250, 0.200]),
    ];
    for (k, (tg, metric, stat, values)) in series.iter().enumerate() {
        for (i, v) in values.iter().enumerate() {
            let dims = if k.is_multiple_of(2) {
                [("TargetGroup", *tg), ("LoadBalancer", LB)]
            } else {
                [("LoadBalancer", LB), ("TargetGroup", *tg)]
            };
            s.put(NS, metric, &dims, stat, T0 + 60 * i as i64, *v);
        }
    }
}

#[tokio::test]
async fn six_queries_answer_their_values_newest_first() {
    let s = Cw::start();
    fill(&s);
    // Not asked for: another statistic, another dimension set, outside the window.
    s.put(
        NS,
        "RequestCount",
        &[("TargetGroup", TG_BLUE), ("LoadBalancer", LB)],
        "Average",
        T0,
        7.0,
    );
    s.put(
        NS,
        "RequestCount",
        &[("LoadBalancer", LB)],
        "Sum",
        T0,
        999.0,
    );
    s.put(
        NS,
        "RequestCount",
        &[("TargetGroup", TG_BLUE), ("LoadBalancer", LB)],
        "Sum",
        T0 - 60,
        5.0,
    );
    s.put(
        NS,
        "RequestCount",
        &[("TargetGroup", TG_BLUE), ("LoadBalancer", LB)],
        "Sum",
        T0 + 180,
        6.0,
    );
    assert_eq!(s.points(), 22);
    let c = client(&s.url).await;

    let out = get(&c, six(), T0, T0 + 180).await.unwrap();
    let got = results(&out);
    let ts = vec![T0 + 120, T0 + 60, T0];
    let complete = StatusCode::Complete;
    assert_eq!(
        got,
        vec![
            (
                "req_blue".into(),
                "RequestCount".into(),
                ts.clone(),
                vec![120.0, 110.0, 100.0],
                complete.clone()
            ),
            (
                "err_blue".into(),
                "HTTPCode_Target_5XX_Count".into(),
                ts.clone(),
                vec![0.0, 1.0, 0.0],
                complete.clone()
            ),
            (
                "p99_blue".into(),
                "TargetResponseTime".into(),
                ts.clone(),
                vec![0.125, 0.130, 0.120],
                complete.clone()
            ),
            (
                "req_green".into(),
                "RequestCount".into(),
                ts.clone(),
                vec![12.0, 11.0, 10.0],
                complete.clone()
            ),
            (
                "err_green".into(),
                "HTTPCode_Target_5XX_Count".into(),
                ts.clone(),
                vec![5.0, 0.0, 3.0],
                complete.clone()
            ),
            (
                "p99_green".into(),
                "TargetResponseTime".into(),
                ts.clone(),
                vec![0.200, 0.250, 0.300],
                complete
            ),
        ]
    );
    assert!(out.messages().is_empty());
    assert!(out.next_token().is_none());
    assert_eq!(s.calls(), 1);

    // What the server read: the queries as sent, the window in epoch seconds.
    let r = s.last_request().unwrap();
    assert_eq!((r.start, r.end), (T0 as f64, (T0 + 180) as f64));
    assert_eq!(r.scan_by, None);
    assert_eq!(r.queries.len(), 6);
    assert_eq!(
        r.queries[2],
        Query {
            id: "p99_blue".into(),
            namespace: NS.into(),
            metric: "TargetResponseTime".into(),
            dims: vec![
                ("TargetGroup".into(), TG_BLUE.into()),
                ("LoadBalancer".into(), LB.into())
            ],
            period: 60,
            stat: "p99".into(),
            unit: None,
            label: None,
            return_data: None,
        }
    );
    // The SDK sends timestamps as tag 1 around a float of epoch seconds.
    let body = s.last_cbor().unwrap();
    let start = body
        .as_map()
        .unwrap()
        .iter()
        .find(|(k, _)| k.as_text() == Some("StartTime"))
        .map(|(_, v)| v.clone())
        .unwrap();
    assert_eq!(
        start,
        ciborium::Value::Tag(1, Box::new(ciborium::Value::Float(T0 as f64)))
    );

    // No datapoint in the window: each query still has its (empty) result.
    let out = get(&c, six(), T0 + 600, T0 + 900).await.unwrap();
    for (id, _, ts, values, status) in results(&out) {
        assert!(ts.is_empty() && values.is_empty(), "{id}");
        assert_eq!(status, StatusCode::Complete);
    }
    assert_eq!(s.calls(), 2);
}

#[tokio::test]
async fn the_window_is_start_inclusive_end_exclusive_and_scan_by_is_honoured() {
    let s = Cw::start();
    fill(&s);
    let c = client(&s.url).await;
    // EndTime on a datapoint excludes it; StartTime on one includes it.
    let out = get(&c, six(), T0 + 60, T0 + 120).await.unwrap();
    let got = results(&out);
    assert_eq!(got[0].2, vec![T0 + 60]);
    assert_eq!(got[0].3, vec![110.0]);
    let out = get(&c, six(), T0 + 1, T0 + 120).await.unwrap();
    assert_eq!(results(&out)[0].2, vec![T0 + 60]);

    // Oldest first when asked; a label given is returned; ReturnData false has no result.
    let queries = vec![
        query_builder("req_blue", "RequestCount", "Sum", TG_BLUE, 60)
            .label("blue requests")
            .build(),
        query_builder("err_blue", "HTTPCode_Target_5XX_Count", "Sum", TG_BLUE, 60)
            .return_data(false)
            .build(),
    ];
    let out = c
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(DateTime::from_secs(T0))
        .end_time(DateTime::from_secs(T0 + 3600))
        .scan_by(ScanBy::TimestampAscending)
        .send()
        .await
        .unwrap();
    let got = results(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "req_blue");
    assert_eq!(got[0].1, "blue requests");
    assert_eq!(got[0].2, vec![T0, T0 + 60, T0 + 120]);
    assert_eq!(got[0].3, vec![100.0, 110.0, 120.0]);
    let r = s.last_request().unwrap();
    assert_eq!(r.scan_by.as_deref(), Some("TimestampAscending"));
    assert_eq!(r.queries[1].return_data, Some(false));
    assert_eq!(r.queries[0].label.as_deref(), Some("blue requests"));

    // A percentile with a decimal is a statistic of its own.
    s.put(
        NS,
        "TargetResponseTime",
        &[("TargetGroup", TG_BLUE), ("LoadBalancer", LB)],
        "p99.9",
        T0,
        0.5,
    );
    let out = get(
        &c,
        vec![query("p999", "TargetResponseTime", "p99.9", TG_BLUE)],
        T0,
        T0 + 60,
    )
    .await
    .unwrap();
    assert_eq!(results(&out)[0].3, vec![0.5]);
    assert_eq!(s.calls(), 4);
}

#[tokio::test]
async fn invalid_requests_are_refused_with_cloudwatch_codes() {
    let s = Cw::start();
    fill(&s);
    let c = client(&s.url).await;
    let (status, code, message) = refused(
        &c,
        vec![query("5xx_blue", "RequestCount", "Sum", TG_BLUE)],
        T0,
        T0 + 60,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(code, "ValidationError");
    assert_eq!(
        message,
        "The value 5xx_blue for parameter MetricDataQueries.member.1.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.\n"
    );
    let (_, code, message) = refused(
        &c,
        vec![query_period("req", "RequestCount", "Sum", TG_BLUE, 90)],
        T0,
        T0 + 60,
    )
    .await;
    assert_eq!(code, "ValidationError");
    assert!(
        message.starts_with("The value 90 for parameter MetricDataQueries.member.1.MetricStat.Period is not a valid period"),
        "{message}"
    );
    // 1, 5, 10, 20 and 30 are valid periods (high resolution), as are multiples of 60.
    for p in [1, 5, 10, 20, 30, 120, 3600] {
        get(
            &c,
            vec![query_period("req", "RequestCount", "Sum", TG_BLUE, p)],
            T0,
            T0 + 60,
        )
        .await
        .unwrap();
    }
    let (_, code, message) = refused(
        &c,
        vec![
            query("req", "RequestCount", "Median", TG_BLUE),
            query("lat", "TargetResponseTime", "p101", TG_BLUE),
        ],
        T0,
        T0 + 60,
    )
    .await;
    assert_eq!(code, "ValidationError");
    assert_eq!(
        message,
        "The value Median for parameter MetricDataQueries.member.1.MetricStat.Stat is not a valid statistic.\n\
         The value p101 for parameter MetricDataQueries.member.2.MetricStat.Stat is not a valid statistic.\n"
    );
    let (_, code, message) = refused(
        &c,
        vec![
            query("req", "RequestCount", "Sum", TG_BLUE),
            query("req", "RequestCount", "Sum", TG_GREEN),
        ],
        T0,
        T0 + 60,
    )
    .await;
    assert_eq!(code, "ValidationError");
    assert_eq!(
        message,
        "The values for parameter id in MetricDataQueries are not unique.\n"
    );
    let (_, code, message) = refused(&c, six(), T0, T0).await;
    assert_eq!(code, "ValidationError");
    assert_eq!(
        message,
        "The parameter StartTime must not equal parameter EndTime.\n"
    );
    let (_, _, message) = refused(&c, six(), T0 + 60, T0).await;
    assert_eq!(
        message,
        "The parameter StartTime must be less than the parameter EndTime.\n"
    );

    let many: Vec<MetricDataQuery> = (0..501)
        .map(|i| query(&format!("q{i}"), "RequestCount", "Sum", TG_BLUE))
        .collect();
    let (status, code, message) = refused(&c, many, T0, T0 + 60).await;
    assert_eq!(status, 400);
    assert_eq!(code, "InvalidParameterValue");
    assert_eq!(
        message,
        "The collection MetricDataQueries must not have a size greater than 500."
    );
    let exactly: Vec<MetricDataQuery> = (0..500)
        .map(|i| query(&format!("q{i}"), "RequestCount", "Sum", TG_BLUE))
        .collect();
    assert_eq!(
        get(&c, exactly, T0, T0 + 60)
            .await
            .unwrap()
            .metric_data_results()
            .len(),
        500
    );

    // The one error GetMetricData models: a NextToken the server never gave.
    let e = c
        .get_metric_data()
        .set_metric_data_queries(Some(six()))
        .start_time(DateTime::from_secs(T0))
        .end_time(DateTime::from_secs(T0 + 60))
        .next_token("bogus")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_next_token(), "{e:?}");
    assert_eq!(e.code(), Some("InvalidNextToken"));
    assert_eq!(
        e.message(),
        Some("The value bogus for parameter NextToken is not valid.")
    );
    assert_eq!(s.calls(), 16);
}

#[tokio::test]
async fn faults_fail_or_hang_and_other_operations_are_refused() {
    let s = Cw::start();
    fill(&s);
    let c = client(&s.url).await;
    s.fault_times(Fault::internal(), 1);
    let e = get(&c, six(), T0, T0 + 60).await.unwrap_err();
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 500);
    assert_eq!(e.code(), Some("InternalServiceError"));
    assert_eq!(
        e.message(),
        Some("Request processing has failed due to some unknown error, exception, or failure.")
    );
    get(&c, six(), T0, T0 + 60).await.unwrap();
    s.fault(Fault::throttling());
    let e = get(&c, six(), T0, T0 + 60).await.unwrap_err();
    assert_eq!(e.code(), Some("Throttling"));
    let e = get(&c, six(), T0, T0 + 60).await.unwrap_err();
    assert_eq!(e.message(), Some("Rate exceeded"));
    s.fault(Fault::Error {
        status: 503,
        type_: "com.example#Unheard".into(),
        message: "no such thing".into(),
    });
    let e = get(&c, six(), T0, T0 + 60).await.unwrap_err();
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 503);
    // No query code is known for it: the SDK takes the `__type` without its namespace.
    assert_eq!(e.code(), Some("Unheard"));

    s.fault(Fault::Hang);
    let t = Instant::now();
    let e = get(&c, six(), T0, T0 + 60).await.unwrap_err();
    assert!(matches!(e, SdkError::TimeoutError(_)), "{e:?}");
    assert!(t.elapsed() >= Duration::from_secs(2));
    s.clear_fault();
    let out = get(&c, six(), T0, T0 + 60).await.unwrap();
    assert_eq!(out.metric_data_results().len(), 6);
    assert_eq!(s.calls(), 7);

    // An operation the server does not serve is refused and not counted.
    let e = c.list_metrics().namespace(NS).send().await.unwrap_err();
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 400);
    assert_eq!(e.code(), Some("UnknownOperationException"));
    assert_eq!(s.calls(), 7);
}

/// The status, `__type` and `x-amzn-query-error` of a raw answer.
async fn raw(r: reqwest::RequestBuilder) -> (u16, Option<String>, Option<String>) {
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let query = resp
        .headers()
        .get("x-amzn-query-error")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = resp.bytes().await.unwrap();
    let body: Option<ciborium::Value> = ciborium::from_reader(&bytes[..]).ok();
    let type_ = body.and_then(|b| {
        b.as_map()?
            .iter()
            .find(|(k, _)| k.as_text() == Some("__type"))
            .and_then(|(_, v)| v.as_text().map(String::from))
    });
    (status, type_, query)
}

#[tokio::test]
async fn the_wire_protocol_is_enforced() {
    let s = Cw::start();
    let http = reqwest::Client::new();
    let url = format!(
        "{}/service/GraniteServiceVersion20100801/operation/GetMetricData",
        s.url
    );
    let signed = |r: reqwest::RequestBuilder| {
        r.header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/monitoring/aws4_request",
        )
        .header("x-amzn-query-mode", "true")
    };
    let cbor = |r: reqwest::RequestBuilder| {
        signed(r)
            .header("smithy-protocol", "rpc-v2-cbor")
            .header("content-type", "application/cbor")
    };
    // Without the smithy-protocol header no operation is routed.
    let (status, type_, _) =
        raw(signed(http.post(&url)).header("content-type", "application/cbor")).await;
    assert_eq!(status, 400);
    assert_eq!(
        type_.as_deref(),
        Some("com.amazon.coral.service#UnknownOperationException")
    );
    let (status, _, _) = raw(signed(http.post(&url))
        .header("smithy-protocol", "rpc-v2-cbor")
        .header("content-type", "application/json")
        .body("{}"))
    .await;
    assert_eq!(status, 415);
    let (status, type_, _) = raw(cbor(http.post(&url)).body(vec![0xff_u8, 0x00])).await;
    assert_eq!(status, 400);
    assert_eq!(
        type_.as_deref(),
        Some("com.amazon.coral.service#SerializationException")
    );
    // An empty input lacks its required members.
    let (status, type_, query) = raw(cbor(http.post(&url))).await;
    assert_eq!(status, 400);
    assert_eq!(
        type_.as_deref(),
        Some("com.amazonaws.cloudwatch#ValidationException")
    );
    assert_eq!(query.as_deref(), Some("ValidationError;Sender"));
    let (status, type_, query) = raw(http
        .post(&url)
        .header("smithy-protocol", "rpc-v2-cbor")
        .header("content-type", "application/cbor"))
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        type_.as_deref(),
        Some("com.amazon.coral.service#MissingAuthenticationTokenException")
    );
    // Query-compatible error codes only for a client that asked for them.
    assert_eq!(query, None);
    // One byte over the limit (the whole body is read before the refusal, so the client is
    // never cut off mid-write): 413, unread by the handler.
    let (status, _, _) = raw(cbor(http.post(&url)).body(vec![0xa0_u8; 1024 * 1024 + 1])).await;
    assert_eq!(status, 413);
    let (status, type_, _) = raw(http.get(&url)).await;
    assert_eq!(status, 400);
    assert_eq!(
        type_.as_deref(),
        Some("com.amazon.coral.service#UnknownOperationException")
    );
    // Counted: the five that reached GetMetricData's handler (not the 413, not the GET).
    assert_eq!(s.calls(), 5);
}

#[test]
#[should_panic(expected = "not a CloudWatch statistic")]
fn put_refuses_an_unknown_statistic() {
    let s = Cw::start();
    s.put(NS, "RequestCount", &[], "Median", T0, 1.0);
}
