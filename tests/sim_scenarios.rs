//! The simulator's scenarios on virtual time: every number comes from simulated requests.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

use cutover::core::{Env, Weights};
use cutover::sim::{Scenario, Simulator};

fn sim(name: &str) -> Simulator {
    Simulator::new(Scenario::load(name).unwrap(), None)
}

fn share(s: &mut Simulator, green: u32) {
    s.set_weights(Weights::new(100 - green, green));
}

#[test]
fn requests_split_by_the_share() {
    let mut s = sim("happy");
    for green in [0u32, 10, 50, 100] {
        share(&mut s, green);
        s.advance(20_000);
        let (b, g) = (s.stats(Env::Blue), s.stats(Env::Green));
        let observed = g.requests as f64 / (b.requests + g.requests) as f64 * 100.0;
        assert!(
            (observed - green as f64).abs() < 3.0,
            "share {green}: observed {observed:.1}"
        );
        assert!(
            (b.rps + g.rps - 200.0).abs() < 15.0,
            "total rps {}",
            b.rps + g.rps
        );
    }
}

#[test]
fn an_env_without_traffic_has_no_data_not_zero() {
    let mut s = sim("happy");
    s.advance(15_000);
    let g = s.stats(Env::Green);
    assert_eq!(g.requests, 0);
    assert_eq!(g.error_rate, None);
    assert_eq!(g.p99_ms, None);
}

#[test]
fn happy_green_is_healthy_at_every_share() {
    let mut s = sim("happy");
    for green in [10u32, 50, 100] {
        share(&mut s, green);
        s.advance(60_000);
        let g = s.stats(Env::Green);
        assert!(g.error_rate.unwrap() < 0.01, "{green}: {:?}", g.error_rate);
        let p99 = g.p99_ms.unwrap();
        assert!((120.0..300.0).contains(&p99), "{green}: p99 {p99}");
    }
}

#[test]
fn bad_release_fails_under_load_and_recovers_when_stepped_back() {
    let mut s = sim("bad-release");
    share(&mut s, 10);
    s.advance(60_000);
    let g = s.stats(Env::Green);
    assert!(
        g.error_rate.unwrap() < 0.01,
        "fine at 10 %: {:?}",
        g.error_rate
    );
    assert!(g.p99_ms.unwrap() < 400.0, "fine at 10 %: {:?}", g.p99_ms);

    share(&mut s, 50);
    s.advance(60_000);
    let g = s.stats(Env::Green);
    let e = g.error_rate.unwrap();
    assert!((0.03..0.08).contains(&e), "~5 % at 50 %: {e}");
    let p99 = g.p99_ms.unwrap();
    assert!((1100.0..2000.0).contains(&p99), "~1.5 s at 50 %: {p99}");
    assert!(
        s.stats(Env::Blue).error_rate.unwrap() < 0.01,
        "blue unaffected"
    );

    share(&mut s, 10);
    s.advance(60_000);
    let g = s.stats(Env::Green);
    assert!(
        g.error_rate.unwrap() < 0.01,
        "cured by stepping back: {:?}",
        g.error_rate
    );
    assert!(
        g.p99_ms.unwrap() < 400.0,
        "cured by stepping back: {:?}",
        g.p99_ms
    );
}

#[test]
fn bad_release_errors_climb_rather_than_jump() {
    let mut s = sim("bad-release");
    share(&mut s, 50);
    s.advance(2_000);
    let early = s.fault_levels(Env::Green)[0];
    s.advance(30_000);
    let late = s.fault_levels(Env::Green)[0];
    assert!(early < 0.5 && late > 0.95, "ramp {early} → {late}");
}

#[test]
fn slow_start_is_slow_for_a_minute_then_fine() {
    let mut s = sim("slow-start");
    share(&mut s, 10);
    s.advance(30_000);
    let p99 = s.stats(Env::Green).p99_ms.unwrap();
    assert!(p99 > 1500.0, "slow at 30 s: {p99}");
    s.advance(60_000);
    let p99 = s.stats(Env::Green).p99_ms.unwrap();
    assert!(p99 < 400.0, "fine at 90 s: {p99}");
}

#[test]
fn metrics_text_counts_every_request() {
    let mut s = sim("bad-release");
    share(&mut s, 50);
    s.advance(30_000);
    let text = s.metrics_text(Env::Green);
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap()
            .parse()
            .unwrap()
    };
    let ok = value("http_requests_total{env=\"green\",code=\"200\"}");
    let err = value("http_requests_total{env=\"green\",code=\"500\"}");
    let count = value("http_request_duration_seconds_count{env=\"green\"}");
    let inf = value("http_request_duration_seconds_bucket{env=\"green\",le=\"+Inf\"}");
    assert_eq!(ok + err, count);
    assert_eq!(inf, count);
    assert!(
        (2500.0..3500.0).contains(&count),
        "~3000 requests in 30 s at 50 %: {count}"
    );
    assert!(err > 0.0);
}

#[tokio::test]
async fn smoke_passes_on_a_healthy_candidate_and_fails_on_a_broken_one() {
    use cutover::signals::{SignalSource, SimSignals};
    use cutover::sim::SimHandle;
    let happy = SimHandle::new(sim("happy"));
    let r = SimSignals::local(happy).smoke(Env::Green).await;
    assert!(r.passed, "{r:?}");
    assert!(
        r.summary.starts_with("50/50 ok") || r.summary.starts_with("49/50 ok"),
        "{r:?}"
    );

    let mut bad = sim("bad-release");
    share(&mut bad, 50);
    bad.advance(60_000);
    let r = SimSignals::local(SimHandle::new(bad))
        .smoke(Env::Green)
        .await;
    assert!(!r.passed, "{r:?}");
}

#[test]
fn faults_follow_the_traffic_really_served_when_a_balancer_routes_it() {
    // The simulator's own weights stay at blue 100 %; a balancer sends half the requests
    // to green. The load-dependent fault follows what green really serves.
    let mut s = sim("bad-release");
    s.set_load(false);
    for _ in 0..600 {
        s.advance(100);
        for i in 0..20 {
            s.serve(if i % 2 == 0 { Env::Green } else { Env::Blue });
        }
    }
    let e = s.stats(Env::Green).error_rate.unwrap();
    assert!((0.03..0.08).contains(&e), "~5 % at a served half: {e}");
}
