//! The config against mutation: every shipped config (demo/**/cutover.toml and the k8s
//! ones) mutated a few hundred times each, seeded, bounded. Each mutation parses or is
//! refused with an error that names its key (or, for TOML syntax, its line), short and
//! with no control character; and the binary, on a sample of them, exits 0, 1 or 2 in
//! bounded time without a panic.

mod common;

use common::bin;
use cutover::config::Config;
use std::time::{Duration, Instant};

const CONFIGS: [&str; 9] = [
    include_str!("../demo/approval/cutover.toml"),
    include_str!("../demo/haproxy/cutover.toml"),
    include_str!("../demo/nginx/cutover.toml"),
    include_str!("../demo/prometheus/cutover.toml"),
    include_str!("../demo/sim/cutover.toml"),
    include_str!("../demo/k8s/gateway.toml"),
    include_str!("../demo/k8s/ingress-nginx.toml"),
    include_str!("../demo/k8s/istio.toml"),
    include_str!("../demo/k8s/service.toml"),
];

/// Mutations per config.
const ROUNDS: usize = 300;
/// Every this many mutations, the binary runs on it too.
const BINARY_EVERY: usize = 25;

/// Values a hostile or careless hand puts in a config.
const VALUES: [&str; 24] = [
    "\"\"",
    "0",
    "-1",
    "4000000000",
    "18446744073709551616",
    "1e308",
    "nan",
    "inf",
    "\"500000000years\"",
    "\"0s\"",
    "\"1ns\"",
    "\"-5s\"",
    "\"\\u001b[2J\\u001b]0;pwned\\u0007\"",
    "[]",
    "[0, 0]",
    "{}",
    "true",
    "\"not an address/x y\"",
    "\"http://\"",
    "\"../../../../dev/zero\"",
    "\"/dev/full\"",
    "\"{env}{env}{window}\"",
    "999",
    "\"green\"",
];

/// xorshift64*: a seeded sequence, the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One mutation of `text`: a value replaced, a line dropped or doubled, a key renamed, a
/// huge value, or a line cut in half.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let assigns: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(" = ") && !l.trim_start().starts_with('#'))
        .map(|(i, _)| i)
        .collect();
    if assigns.is_empty() {
        return text.to_string();
    }
    let i = assigns[rng.below(assigns.len())];
    let key = lines[i].split(" = ").next().unwrap_or("").to_string();
    match rng.below(6) {
        0 | 1 => lines[i] = format!("{key} = {}", VALUES[rng.below(VALUES.len())]),
        2 => {
            lines.remove(i);
        }
        3 => {
            let l = lines[i].clone();
            lines.insert(i, l);
        }
        4 => lines[i] = format!("{key} = \"{}\"", "x".repeat(200_000)),
        _ => {
            let l = lines[i].clone();
            lines[i] = l.chars().take(l.chars().count() / 2).collect();
        }
    }
    lines.join("\n") + "\n"
}

#[test]
fn mutated_configs_are_refused_by_key_or_parse_and_never_panic() {
    let mut rng = Rng(0x00C0_FFEE_D00D_F00D);
    let dir = tempfile::tempdir().unwrap();
    let (mut parsed, mut refused, mut ran) = (0, 0, 0);
    let mut slowest = Duration::ZERO;
    for (c, base) in CONFIGS.iter().enumerate() {
        for round in 0..ROUNDS {
            let text = mutate(base, &mut rng);
            let outcome = std::panic::catch_unwind(|| Config::parse(&text, "fuzz.toml"));
            let Ok(result) = outcome else {
                panic!("config {c} round {round} panicked on:\n{text:.2000}");
            };
            match result {
                Ok(_) => parsed += 1,
                Err(e) => {
                    refused += 1;
                    let m = e.to_string();
                    assert!(
                        m.contains("key `")
                            || m.contains("keys `")
                            || m.contains("fuzz.toml: line ")
                            || m.contains("environment variable"),
                        "config {c} round {round}: names no key: {m:.400}\n{text:.2000}"
                    );
                    assert!(
                        m.len() < 2_000,
                        "config {c} round {round}: {} bytes: {m:.300}",
                        m.len()
                    );
                }
            }
            if round % BINARY_EVERY == 0 {
                let path = dir.path().join(format!("fuzz-{c}-{round}.toml"));
                std::fs::write(&path, &text).unwrap();
                let t = Instant::now();
                let o = std::process::Command::new(bin())
                    .arg("--config")
                    .arg(&path)
                    .args(["--journal"])
                    .arg(dir.path().join("none.jsonl"))
                    .arg("journal")
                    .output()
                    .unwrap();
                slowest = slowest.max(t.elapsed());
                ran += 1;
                let err = String::from_utf8_lossy(&o.stderr);
                assert!(
                    matches!(o.status.code(), Some(0..=2)),
                    "config {c} round {round}: exit {:?}: {err}",
                    o.status
                );
                assert!(!err.contains("panicked"), "{err}");
                assert!(
                    !err.chars().any(|ch| ch.is_control() && ch != '\n'),
                    "control character printed: {err:?}"
                );
            }
        }
    }
    eprintln!(
        "config fuzz: {} mutations ({parsed} parsed, {refused} refused), {ran} binary runs, slowest {slowest:?}",
        parsed + refused
    );
    assert!(
        refused > 0 && parsed > 0,
        "the mutations reach both outcomes"
    );
    assert!(slowest < Duration::from_secs(10), "{slowest:?}");
}
