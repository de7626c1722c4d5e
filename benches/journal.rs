//! The cost of a journal line that survives a crash: one entry appended and fsynced (what
//! every write pays before its backend call), side by side with the same append without
//! the fsync. The folder is `CUTOVER_BENCH_DIR`, else the system temp folder: point it at the
//! disk that holds the real journal (`~/.local/state/cutover`).
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

use criterion::{Criterion, criterion_group, criterion_main};
use cutover::app::journal::{
    CandidateSnapshot, Entry, Journal, Phase, Who, WriteAction, timestamp,
};
use cutover::core::{Env, Weights};
use std::io::Write;

fn entry() -> Entry {
    Entry {
        ts: timestamp(),
        phase: Phase::Intent,
        write: "4242-1".into(),
        who: Who::current(),
        source: "bench".into(),
        action: WriteAction::Rollback,
        backend: "haproxy 127.0.0.1:9999 backend app".into(),
        live: Env::Blue,
        share_before: Some(50),
        share_target: Some(0),
        before: Some(Weights::new(50, 50)),
        target: Some(Weights::new(100, 0)),
        after: None,
        share_after: None,
        verified: None,
        elapsed_ms: None,
        error: None,
        reason: None,
        driver: None,
        candidate: CandidateSnapshot::default(),
    }
}

fn journal(c: &mut Criterion) {
    let base = std::env::var_os("CUTOVER_BENCH_DIR")
        .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let dir = tempfile::tempdir_in(base).unwrap();
    let e = entry();
    let j = Journal::open(&dir.path().join("fsync.jsonl")).unwrap();
    c.bench_function("journal append + fsync (per write)", |b| {
        b.iter(|| j.append(&e).unwrap());
    });
    let mut plain = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("plain.jsonl"))
        .unwrap();
    c.bench_function("journal append, no fsync (before this change)", |b| {
        b.iter(|| {
            let mut line = serde_json::to_string(&e).unwrap();
            line.push('\n');
            plain.write_all(line.as_bytes()).unwrap();
        });
    });
}

criterion_group!(benches, journal);
criterion_main!(benches);
