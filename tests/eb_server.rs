//! The loopback Elastic Beanstalk (tests/common/eb.rs) against the real SDK client: every
//! answer parses into what the EB backend reads, refusals carry AWS's codes and messages,
//! a swap shows the old CNAMEs while both environments are `Updating`, faults hang or fail.
#![allow(clippy::too_many_lines)] // a test tells one story from start to end

mod common;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_elasticbeanstalk::Client;
use aws_sdk_elasticbeanstalk::config::Credentials;
use aws_sdk_elasticbeanstalk::error::ProvideErrorMetadata;
use aws_sdk_elasticbeanstalk::types::{
    EnvironmentHealth, EnvironmentHealthAttribute, EnvironmentHealthStatus, EnvironmentStatus, Tag,
};
use common::eb::{Eb, Fault, Metrics};
use std::time::{Duration, Instant};

const BLUE: &str = "checkout-blue";
const GREEN: &str = "checkout-green";
const BLUE_CNAME: &str = "checkout-live.us-east-1.elasticbeanstalk.com";
const GREEN_CNAME: &str = "checkout-stage.us-east-1.elasticbeanstalk.com";

fn eb() -> Eb {
    Eb::start("checkout", (BLUE, BLUE_CNAME), (GREEN, GREEN_CNAME))
}

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

/// (status, CNAME) of both environments, blue first, from one DescribeEnvironments.
async fn poll(c: &Client) -> [(String, String); 2] {
    let out = c
        .describe_environments()
        .application_name("checkout")
        .environment_names(BLUE)
        .environment_names(GREEN)
        .send()
        .await
        .unwrap();
    let get = |name: &str| {
        let e = out
            .environments()
            .iter()
            .find(|e| e.environment_name() == Some(name))
            .unwrap();
        (
            e.status().unwrap().as_str().to_string(),
            e.cname().unwrap().to_string(),
        )
    };
    [get(BLUE), get(GREEN)]
}

#[tokio::test]
async fn describe_environments_parses_every_field() {
    let s = eb();
    let c = client(&s.url).await;
    let out = c
        .describe_environments()
        .application_name("checkout")
        .send()
        .await
        .unwrap();
    assert_eq!(out.environments().len(), 2);
    for (e, name, cname) in [
        (&out.environments()[0], BLUE, BLUE_CNAME),
        (&out.environments()[1], GREEN, GREEN_CNAME),
    ] {
        assert_eq!(e.environment_name(), Some(name));
        assert_eq!(e.environment_id(), Some(s.id(name).as_str()));
        assert!(e.environment_id().unwrap().starts_with("e-"));
        assert_eq!(e.environment_id().unwrap().len(), 12);
        assert_eq!(e.application_name(), Some("checkout"));
        assert!(e.version_label().is_some());
        assert_eq!(e.cname(), Some(cname));
        assert_eq!(e.status(), Some(&EnvironmentStatus::Ready));
        assert_eq!(e.health(), Some(&EnvironmentHealth::Green));
        assert_eq!(e.health_status(), Some(&EnvironmentHealthStatus::Ok));
        assert_eq!(
            e.environment_arn(),
            Some(
                format!(
                    "arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/checkout/{name}"
                )
                .as_str()
            )
        );
        assert!(e.date_updated().unwrap().secs() > 1_700_000_000);
        assert_eq!(e.tier().unwrap().name(), Some("WebServer"));
    }
    // Filters: by name, by id, by application, deleted ones.
    let one = c
        .describe_environments()
        .environment_names(GREEN)
        .send()
        .await
        .unwrap();
    assert_eq!(one.environments().len(), 1);
    assert_eq!(one.environments()[0].environment_name(), Some(GREEN));
    let by_id = c
        .describe_environments()
        .environment_ids(s.id(BLUE))
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.environments()[0].environment_name(), Some(BLUE));
    let other = c
        .describe_environments()
        .application_name("other")
        .send()
        .await
        .unwrap();
    assert!(other.environments().is_empty());
    s.set_status(GREEN, "Terminated");
    s.set_health(GREEN, "Grey", "Suspended", &[]);
    let live = c
        .describe_environments()
        .include_deleted(false)
        .send()
        .await
        .unwrap();
    assert_eq!(live.environments().len(), 1);
    let all = c.describe_environments().send().await.unwrap();
    assert_eq!(
        all.environments()[1].status(),
        Some(&EnvironmentStatus::Terminated)
    );
    assert_eq!(
        all.environments()[1].health(),
        Some(&EnvironmentHealth::Grey)
    );
    assert_eq!(s.calls("DescribeEnvironments"), 6);
}

#[tokio::test]
async fn a_swap_is_refused_unless_both_are_ready() {
    let s = eb();
    let c = client(&s.url).await;
    s.set_status(GREEN, "Updating");
    let e = c
        .swap_environment_cnames()
        .source_environment_name(BLUE)
        .destination_environment_name(GREEN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    assert_eq!(
        e.message(),
        Some(
            "Environment named checkout-green is in an invalid state for this operation. Must be Ready."
        )
    );
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 400);
    assert_eq!(s.cname(BLUE), BLUE_CNAME);
    assert_eq!(s.cname(GREEN), GREEN_CNAME);

    s.set_status(GREEN, "Ready");
    let e = c
        .swap_environment_cnames()
        .source_environment_name(BLUE)
        .destination_environment_name("checkout-nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    assert!(
        e.message().unwrap().contains("No Environment found"),
        "{e:?}"
    );
    let e = c
        .swap_environment_cnames()
        .source_environment_id(s.id(BLUE))
        .destination_environment_name(GREEN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameterCombination"));
    assert_eq!(s.calls("SwapEnvironmentCNAMEs"), 3);
}

#[tokio::test]
async fn a_swap_shows_the_old_cnames_until_both_are_ready() {
    let s = eb();
    let c = client(&s.url).await;
    s.set_updating_polls(2);
    c.swap_environment_cnames()
        .source_environment_name(BLUE)
        .destination_environment_name(GREEN)
        .send()
        .await
        .unwrap();
    assert_eq!(s.cname(BLUE), BLUE_CNAME);
    for n in 0..2 {
        let [b, g] = poll(&c).await;
        assert_eq!(b, ("Updating".into(), BLUE_CNAME.into()));
        assert_eq!(g, ("Updating".into(), GREEN_CNAME.into()));
        if n == 0 {
            // While Updating, a second swap is refused.
            let e = c
                .swap_environment_cnames()
                .source_environment_name(GREEN)
                .destination_environment_name(BLUE)
                .send()
                .await
                .unwrap_err();
            assert_eq!(e.code(), Some("InvalidParameterValue"));
        }
    }
    let [b, g] = poll(&c).await;
    assert_eq!(b, ("Ready".into(), GREEN_CNAME.into()));
    assert_eq!(g, ("Ready".into(), BLUE_CNAME.into()));
    assert_eq!(s.cname(BLUE), GREEN_CNAME);
    assert_eq!(s.status(BLUE), "Ready");

    // By id, and with no delay: swapped back at once.
    s.set_updating_polls(0);
    c.swap_environment_cnames()
        .source_environment_id(s.id(GREEN))
        .destination_environment_id(s.id(BLUE))
        .send()
        .await
        .unwrap();
    let [b, g] = poll(&c).await;
    assert_eq!(b, ("Ready".into(), BLUE_CNAME.into()));
    assert_eq!(g, ("Ready".into(), GREEN_CNAME.into()));
    assert_eq!(s.calls("DescribeEnvironments"), 4);
    assert_eq!(s.calls("SwapEnvironmentCNAMEs"), 3);
}

#[tokio::test]
async fn environment_health_parses_metrics() {
    let s = eb();
    let c = client(&s.url).await;
    s.set_health(
        GREEN,
        "Red",
        "Severe",
        &["5.0 % of the requests are failing with HTTP 5xx."],
    );
    s.set_metrics(GREEN, Some(Metrics::traffic(400, 20, 0.25)));
    let h = c
        .describe_environment_health()
        .environment_name(GREEN)
        .attribute_names(EnvironmentHealthAttribute::All)
        .send()
        .await
        .unwrap();
    assert_eq!(h.environment_name(), Some(GREEN));
    assert_eq!(h.health_status(), Some("Severe"));
    assert_eq!(h.color(), Some("Red"));
    // The model types Status as a health color, but the service says the operational status.
    assert_eq!(h.status().unwrap().as_str(), "Ready");
    assert_eq!(
        h.causes(),
        ["5.0 % of the requests are failing with HTTP 5xx.".to_string()]
    );
    let m = h.application_metrics().unwrap();
    assert_eq!(m.duration(), Some(10));
    assert_eq!(m.request_count(), 400);
    let codes = m.status_codes().unwrap();
    assert_eq!(codes.status5xx(), Some(20));
    assert_eq!(codes.status2xx(), Some(380));
    assert_eq!(codes.status4xx(), Some(0));
    let lat = m.latency().unwrap();
    assert_eq!(lat.p99(), Some(0.25));
    assert_eq!(lat.p50(), Some(0.075));
    assert_eq!(lat.p999(), Some(0.375));
    assert!(h.refreshed_at().unwrap().secs() > 1_700_000_000);
    assert_eq!(h.instances_health().unwrap().ok(), Some(1));

    // By id, only some attributes: only those (and the name) come back.
    let h = c
        .describe_environment_health()
        .environment_id(s.id(GREEN))
        .attribute_names(EnvironmentHealthAttribute::Color)
        .attribute_names(EnvironmentHealthAttribute::ApplicationMetrics)
        .send()
        .await
        .unwrap();
    assert_eq!(h.color(), Some("Red"));
    assert!(h.health_status().is_none() && h.status().is_none() && h.causes().is_empty());
    assert_eq!(h.application_metrics().unwrap().request_count(), 400);
    let bare = c
        .describe_environment_health()
        .environment_name(GREEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.environment_name(), Some(GREEN));
    assert!(bare.color().is_none() && bare.application_metrics().is_none());

    // No traffic: absent, zero requests, or a window alone.
    let metrics = |env: &'static str| {
        let c = c.clone();
        async move {
            c.describe_environment_health()
                .environment_name(env)
                .attribute_names(EnvironmentHealthAttribute::All)
                .send()
                .await
                .unwrap()
                .application_metrics()
                .cloned()
        }
    };
    assert!(metrics(BLUE).await.is_none());
    s.set_metrics(BLUE, Some(Metrics::default()));
    let m = metrics(BLUE).await.unwrap();
    assert_eq!((m.duration(), m.request_count()), (Some(10), 0));
    assert!(m.status_codes().is_none() && m.latency().is_none());
    s.set_metrics_xml(BLUE, "<Duration>10</Duration>");
    let m = metrics(BLUE).await.unwrap();
    // The SDK's request_count() says an absent RequestCount as 0 too.
    assert_eq!((m.duration(), m.request_count()), (Some(10), 0));

    let e = c
        .describe_environment_health()
        .environment_name("checkout-nope")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_invalid_request_exception());
    assert_eq!(s.calls("DescribeEnvironmentHealth"), 7);
}

#[tokio::test]
async fn tags_round_trip() {
    let s = eb();
    let c = client(&s.url).await;
    let arn = s.arn(BLUE);
    let tags = |out: &aws_sdk_elasticbeanstalk::operation::list_tags_for_resource::ListTagsForResourceOutput| {
        out.resource_tags()
            .iter()
            .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
            .collect::<Vec<_>>()
    };
    let out = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(out.resource_arn(), Some(arn.as_str()));
    assert_eq!(tags(&out), s.tags(BLUE));
    assert!(tags(&out).contains(&("elasticbeanstalk:environment-name".into(), BLUE.into())));

    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    c.update_tags_for_resource()
        .resource_arn(&arn)
        .tags_to_add(tag("cutover:live", "blue & <green>"))
        .tags_to_add(tag("team", "payments"))
        .send()
        .await
        .unwrap();
    c.update_tags_for_resource()
        .resource_arn(&arn)
        .tags_to_add(tag("cutover:live", "green"))
        .tags_to_remove("team")
        .send()
        .await
        .unwrap();
    let out = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags(&out), s.tags(BLUE));
    assert_eq!(
        tags(&out)
            .iter()
            .filter(|(k, _)| !k.starts_with("elasticbeanstalk:") && k != "Name")
            .cloned()
            .collect::<Vec<_>>(),
        [("cutover:live".to_string(), "green".to_string())]
    );
    c.update_tags_for_resource()
        .resource_arn(&arn)
        .tags_to_add(tag("note", "blue & <green>"))
        .send()
        .await
        .unwrap();
    assert!(
        s.tags(BLUE)
            .contains(&("note".into(), "blue & <green>".into()))
    );

    let e = c
        .list_tags_for_resource()
        .resource_arn("arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/checkout/nope")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    let e = c
        .update_tags_for_resource()
        .resource_arn(&arn)
        .tags_to_remove("elasticbeanstalk:environment-name")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    s.set_status(BLUE, "Updating");
    let e = c
        .update_tags_for_resource()
        .resource_arn(&arn)
        .tags_to_add(tag("x", "y"))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_operation_in_progress_exception()
    );

    // A tag update can keep the environment Updating for some polls.
    s.set_status(BLUE, "Ready");
    s.set_tag_update_polls(1);
    c.update_tags_for_resource()
        .resource_arn(&arn)
        .tags_to_add(tag("x", "y"))
        .send()
        .await
        .unwrap();
    assert_eq!(poll(&c).await[0].0, "Updating");
    assert_eq!(poll(&c).await[0].0, "Ready");
    assert_eq!(s.calls("UpdateTagsForResource"), 6);
    assert_eq!(s.calls("ListTagsForResource"), 3);
}

#[tokio::test]
async fn faults_hang_or_fail_and_unknown_actions_are_refused() {
    let s = eb();
    let c = client(&s.url).await;
    s.fault("DescribeEnvironments", Fault::internal());
    let e = c.describe_environments().send().await.unwrap_err();
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 500);
    assert_eq!(e.code(), Some("InternalFailure"));
    s.fault_times("DescribeEnvironments", Fault::throttling(), 1);
    let e = c.describe_environments().send().await.unwrap_err();
    assert_eq!(e.code(), Some("Throttling"));
    c.describe_environments().send().await.unwrap();

    s.fault("DescribeEnvironmentHealth", Fault::Hang);
    let t = Instant::now();
    let e = c
        .describe_environment_health()
        .environment_name(BLUE)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            aws_sdk_elasticbeanstalk::error::SdkError::TimeoutError(_)
        ),
        "{e:?}"
    );
    assert!(t.elapsed() >= Duration::from_secs(2));
    s.clear_fault("DescribeEnvironmentHealth");
    c.describe_environment_health()
        .environment_name(BLUE)
        .send()
        .await
        .unwrap();
    assert_eq!(s.calls("DescribeEnvironments"), 3);
    assert_eq!(s.calls("DescribeEnvironmentHealth"), 2);

    // Not through the SDK: an action it does not serve, an unsigned call, a huge body.
    let http = reqwest::Client::new();
    let form = |body: &str| {
        http.post(&s.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/elasticbeanstalk/aws4_request",
            )
            .body(body.to_string())
    };
    let r = form("Action=TerminateEnvironment&Version=2010-12-01&EnvironmentName=checkout-blue")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body = r.text().await.unwrap();
    assert!(body.starts_with("<ErrorResponse"), "{body}");
    assert!(
        body.contains("<Type>Sender</Type><Code>InvalidAction</Code>"),
        "{body}"
    );
    assert!(body.contains("<RequestId>"), "{body}");
    let r = http
        .post(&s.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Action=DescribeEnvironments&Version=2010-12-01")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("MissingAuthenticationToken")
    );
    let r = form(&format!(
        "Action=DescribeEnvironments&Version=2010-12-01&x={}",
        "a".repeat(100_000)
    ))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(s.calls("TerminateEnvironment"), 1);
    assert_eq!(s.requests().len(), 7);

    // Dropping the server with a call still hanging stops it at once.
    s.fault("DescribeEnvironments", Fault::Hang);
    let pending = tokio::spawn({
        let c = c.clone();
        async move { c.describe_environments().send().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    drop(s);
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(pending.await.unwrap().is_err());
}

/// From a plain test (one that would spawn the binary): no runtime around it.
#[test]
fn works_without_a_runtime_around_it() {
    let s = eb();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let [b, _] = rt.block_on(async { poll(&client(&s.url).await).await });
    assert_eq!(b, ("Ready".into(), BLUE_CNAME.into()));
    assert_eq!(s.calls("DescribeEnvironments"), 1);
}
