//! The cockpit: `cutover` with no command (on the configured backend) and `cutover demo` (on
//! the bundled simulator). Builds the first `State` (driver lease, cutover record, the
//! journal's unfinished write), hands it to the runner, and says on quit where traffic was
//! left.

use super::wiring::{connect, cutover_for, journal_for, load_config, theme};
use crate::app::Clock;
use crate::app::journal::{Journal, Who};
use crate::app::lease::{self, Me, Standing};
use crate::app::runner::Setup;
use crate::app::state::{Level, Role, State};
use crate::backends::{Backend, BackendError, SimBackend, Switch};
use crate::cli::Cli;
use crate::config::{Config, ConfigError};
use crate::core::{Env, LiveFrom, Provided};
use crate::signals::{SignalSource, SimSignals};
use crate::sim::{Scenario, SimHandle, Simulator};
use crate::ui::theme::Theme;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// `cutover`: the cockpit on the configured backend.
pub(super) async fn cockpit(cli: &Cli) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let theme = theme(cli, config.theme.as_deref())?;
    // Before the lease is taken or anything connects: a config error still says itself.
    crate::tui::can_run()?;
    let journal = journal_for(cli, Some(&config), &config.name)?;
    let (backend, sources) = connect(cli, &config).await?;
    run_cockpit(config, theme, backend, cli.read_only, sources, journal).await
}

/// `cutover demo`: the cockpit on an in-process simulator running `scenario`.
pub(super) async fn demo(
    cli: &Cli,
    scenario: &str,
    seed: Option<u64>,
    window: Duration,
    write_delay: Duration,
) -> anyhow::Result<ExitCode> {
    let scenario =
        Scenario::load(scenario).map_err(|e| ConfigError::new("--scenario", e.to_string()))?;
    if window.is_zero() {
        return Err(ConfigError::new(
            "--rollback-window",
            "value \"0s\": expected a duration such as \"15m\"",
        )
        .into());
    }
    // An explicit --config lends the demo the operator's keys and theme (and is checked
    // like any config); its backend is not used: the demo always runs the bundled simulator.
    let mine = match &cli.config {
        Some(_) => Some(load_config(cli)?),
        None => None,
    };
    let theme = theme(cli, mine.as_ref().and_then(|c| c.theme.as_deref()))?;
    let mut config = Config::parse(
        "[backend]\nkind = \"sim\"\ncontrol = \"in-process\"\n",
        "demo",
    )?;
    if let Some(mine) = mine {
        config.keymap = mine.keymap;
    }
    config.name = scenario.service.clone();
    config.live = Some(scenario.live);
    config.rollback_window = window;
    config.min_bake = scenario.min_bake;
    config.guardrails.min_requests = scenario.min_requests;
    crate::tui::can_run()?;
    let journal = journal_for(cli, None, &format!("demo-{}", scenario.name))?;
    let handle = SimHandle::new(Simulator::new(scenario, seed));
    handle.set_write_delay(write_delay);
    let clock = handle.spawn_clock();
    let backend: Arc<dyn Switch> = Arc::new(SimBackend::Local(handle.clone()));
    let sources: Vec<Arc<dyn SignalSource>> = vec![Arc::new(SimSignals::local(handle))];
    let code = run_cockpit(config, theme, backend, cli.read_only, sources, journal).await;
    clock.abort();
    code
}

/// The state the cockpit opens on, from the config and the backend's kind.
fn initial_state(config: &Config, backend: &dyn Backend, who: &Who) -> State {
    let live = config.live.unwrap_or(Env::Blue);
    let cutover = cutover_for(config, live, backend.capabilities());
    let mut s = State::new(
        config.name.clone(),
        cutover,
        chrono::Local::now().fixed_offset(),
    );
    s.traffic.live_known = config.live.is_some();
    s.traffic.live_from = config.live.map(|_| LiveFrom::Config);
    s.settings.backend_kind = backend.kind().into();
    s.settings.backend_target = backend.target();
    s.settings.weight_scale = backend.capabilities().scale;
    s.settings.driver = who.user.clone();
    s.settings.poll_interval = config.poll_interval.as_millis() as u64;
    s.settings.guardrails = config.guardrails.clone();
    s.settings.keymap = config.keymap.clone();
    s.signals.blue.version = config.envs.blue.version.clone();
    s.signals.green.version = config.envs.green.version.clone();
    s.settings.metric_info = config.metrics.clone();
    s.settings.auto_rollback_ms = config.auto_rollback.map(|d| d.as_millis() as u64);
    s.settings.window_extend_ms = config.rollback_window_extend.as_millis() as u64;
    s.settings.window_warn_ms = config.rollback_window_warn.as_millis() as u64;
    s.settings.settle_ms = super::wiring::signal_window(config).as_millis() as u64;
    s.settings.min_bake_ms = config.min_bake.map(|d| d.as_millis() as u64);
    s.settings.approval = config.approval.clone();
    s.settings.cold_ramp = config.cold_rollback.clone();
    if let Some(g) = &config.schema {
        s.schema.contract = Some(g.contract.0.clone());
        s.schema.stale_ms = (3 * g.interval + g.timeout).as_millis() as u64;
        s.schema.max_configured = config.envs.map(|_, e| e.schema_max.is_some());
    }
    s
}

/// Runs the cockpit on `switch` until the operator quits. Without `read_only` it tries to
/// take the driver lease first.
async fn run_cockpit(
    config: Config,
    theme: Theme,
    switch: Arc<dyn Switch>,
    read_only: bool,
    sources: Vec<Arc<dyn SignalSource>>,
    journal: Arc<Journal>,
) -> anyhow::Result<ExitCode> {
    let who = Who::current();
    let backend: Arc<dyn Backend> = switch.clone();
    // --read-only drops the write side here: nothing below can write.
    let switch = (!read_only).then_some(switch);
    let me = Me::new(&who.user, config.lease_ttl.as_millis() as u64);
    let clock = Clock::start();
    let mut state = initial_state(&config, backend.as_ref(), &who);
    // The screen's wall-clock times are the clock's, from its own 0.
    state.settings.start_wall = clock.wall_zero();
    state.now = clock.now();
    state.settings.lease_place = backend.lease_place();
    let standing = seat(&config, backend.as_ref(), switch.as_deref(), &me).await;
    apply_standing(&mut state, standing);
    if switch.is_none() {
        state.lease.role = Role::ReadOnly;
    }
    state.now = clock.now();
    read_record(&mut state, &config, backend.as_ref()).await;
    log_journal(&mut state, &journal);
    // What to change before this cutover (a DNS TTL above 60 s), as `check` says it.
    if let Ok(Ok(advice)) = tokio::time::timeout(config.poll_timeout, backend.advice()).await {
        for a in advice {
            state.log(Level::Warn, a);
        }
    }
    state.settings.provided = Provided::any(sources.iter().map(|s| s.provides()));
    state.settings.smoke_available =
        !config.smoke.is_empty() || sources.iter().any(|s| s.can_smoke());
    state.standby.interval_ms = state
        .settings
        .smoke_available
        .then_some(config.standby_check_interval.as_millis() as u64);
    let smoke = (!config.smoke.is_empty())
        .then(|| Arc::new(crate::signals::smoke::HttpSmoke::new(config.smoke.clone())));
    let setup = Setup {
        state,
        backend,
        switch,
        me,
        smoke,
        sources,
        journal,
        who,
        clock,
        poll_interval: config.poll_interval,
        poll_timeout: config.poll_timeout,
        hooks: config.hooks.clone(),
        schema: super::wiring::schema_feed(&config).map(Arc::new),
    };
    let out = crate::tui::run_tui(setup, theme).await?;
    for line in quit_lines(&out.state) {
        println!("{}", crate::shared::printable(&line));
    }
    // As the CLI's: a write that went out without its journal line is a failure to report.
    Ok(if unjournaled(&out.state) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Whether a write went out without its journal line (the cockpit then exits 1).
fn unjournaled(s: &State) -> bool {
    s.writes.not_journaled.is_some()
}

/// The driver lease as the cockpit opens: taken when it can write, else only looked at.
/// `None` when the lease store did not answer in time.
async fn seat(
    config: &Config,
    backend: &dyn Backend,
    switch: Option<&dyn Switch>,
    me: &Me,
) -> Option<Result<Standing, BackendError>> {
    let now = lease::wall_ms();
    let standing = match switch {
        Some(sw) => tokio::time::timeout(config.poll_timeout, lease::acquire(sw, me, now)).await,
        None => tokio::time::timeout(config.poll_timeout, lease::look(backend, me, now)).await,
    };
    standing.ok()
}

/// The role the lease gives: driver when it is ours, observer otherwise, saying why.
fn apply_standing(state: &mut State, standing: Option<Result<Standing, BackendError>>) {
    match standing {
        Some(Ok(Standing::Mine(l))) => state.lease.holder = Some(l),
        Some(Ok(Standing::Theirs(l))) => {
            state.lease.role = Role::Observer;
            state.log(
                Level::Warn,
                format!(
                    "{} drives this cutover since {}: observing (T takes over)",
                    l.holder,
                    crate::app::words::hhmm(l.since)
                ),
            );
            state.lease.holder = Some(l);
        }
        Some(Ok(Standing::Free)) => state.lease.role = Role::Observer,
        // Fail closed: no lease held, no forward write; the lease task keeps trying.
        Some(Err(e)) => {
            state.lease.role = Role::Observer;
            state.lease.lease_error = Some(e.to_string());
            state.log(
                Level::Error,
                format!("driver lease: {e}: forward steps refused until it can be taken; r still rolls back"),
            );
        }
        None => {
            state.lease.role = Role::Observer;
            state.lease.lease_error = Some("the lease store did not answer".into());
            state.log(
                Level::Error,
                "driver lease: the lease store did not answer: forward steps refused until it does; r still rolls back",
            );
        }
    }
}

/// Who is live: the config, else the cutover record at the backend, else the env holding
/// all the traffic (the first read says). A split with no record waits: nothing guesses.
async fn read_record(state: &mut State, config: &Config, backend: &dyn Backend) {
    match tokio::time::timeout(config.poll_timeout, backend.record()).await {
        Ok(r) => {
            crate::app::update::update(
                state,
                crate::app::Event::RecordRead {
                    now: 0,
                    result: r.map_err(|e| e.to_string()),
                },
            );
        }
        Err(_) => state.log(Level::Error, "cutover record: the backend did not answer"),
    }
}

/// A write this journal began and never ended is said first thing; then where the journal
/// is.
fn log_journal(state: &mut State, journal: &Journal) {
    if let Some(e) = journal.pending() {
        state.log(
            Level::Warn,
            format!(
                "the journal has a write with no outcome: {} {} → {} % by {} at {} (write {}); the backend's reading below is the truth",
                e.action,
                e.live.other(),
                e.share_target.map_or("?".into(), |p| p.to_string()),
                e.who.user,
                e.ts,
                e.write
            ),
        );
    }
    state.log(
        Level::Info,
        format!("journal: {}", journal.path().display()),
    );
}

/// What the terminal shows once the cockpit is gone: writes still in flight or unknown, a
/// rollback not journaled, and where the traffic was left.
fn quit_lines(s: &State) -> Vec<String> {
    let mut lines = Vec::new();
    for w in &s.writes.in_flight {
        lines.push(format!(
            "cutover: quit with a write IN FLIGHT: {} {} → {} % (outcome unknown: it may still land; `cutover status` shows where it stands)",
            w.action,
            s.candidate(),
            w.share
        ));
    }
    for w in &s.writes.settling {
        lines.push(format!(
            "cutover: quit before the cutover record was updated after {} {} → {} % (the write itself read back; `cutover status` shows the record)",
            w.action,
            s.candidate(),
            w.share
        ));
    }
    for w in &s.writes.unknown {
        lines.push(format!(
            "cutover: a write's outcome is still UNKNOWN: {} {} → {} %",
            w.action,
            s.candidate(),
            w.share
        ));
    }
    if let Some(t) = &s.writes.not_journaled {
        lines.push(format!("cutover: {t}"));
    }
    lines.push(match s.traffic.weights {
        Some(w) => format!(
            "cutover: quit; traffic left as the backend has it: {} {} % ({w})",
            s.candidate(),
            w.share_of(s.candidate())
                .map_or_else(|| "?".into(), |p| p.to_string())
        ),
        None => "cutover: quit; the backend's traffic state was never read".to_string(),
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::InFlight;
    use crate::core::{Cutover, Lease, Plan, Weights};

    /// A cockpit on blue live, before anything was read.
    fn state() -> State {
        let cutover = Cutover::new(Env::Blue, Plan::default(), 60_000);
        State::new("svc".into(), cutover, chrono::Local::now().fixed_offset())
    }

    fn last_log(s: &State) -> (Level, String) {
        let l = s.view.events.back().expect("something was logged");
        (l.level, l.text.clone())
    }

    fn write(action: &str, share: u8) -> InFlight {
        InFlight {
            id: 1,
            share,
            since: 0,
            rollback: false,
            action: action.into(),
            superseded: false,
            progress: None,
        }
    }

    #[test]
    fn our_lease_makes_us_the_driver_silently() {
        let mut s = state();
        let lease = Lease::new("me@here", "tok", 1_000, 60_000);
        apply_standing(&mut s, Some(Ok(Standing::Mine(lease.clone()))));
        assert_eq!(s.lease.role, Role::Driver);
        assert_eq!(s.lease.holder, Some(lease));
        assert!(s.view.events.is_empty());
    }

    #[test]
    fn someone_elses_lease_makes_us_an_observer_and_names_them() {
        let mut s = state();
        let lease = Lease::new("alice@bastion", "tok", 1_000, 60_000);
        apply_standing(&mut s, Some(Ok(Standing::Theirs(lease.clone()))));
        assert_eq!(s.lease.role, Role::Observer);
        assert_eq!(s.lease.holder, Some(lease));
        let (level, text) = last_log(&s);
        assert_eq!(level, Level::Warn);
        assert!(
            text.starts_with("alice@bastion drives this cutover since "),
            "{text}"
        );
        assert!(text.ends_with(": observing (T takes over)"), "{text}");
    }

    #[test]
    fn a_lease_that_cannot_be_had_fails_closed() {
        let mut s = state();
        apply_standing(&mut s, Some(Ok(Standing::Free)));
        assert_eq!(s.lease.role, Role::Observer);
        assert_eq!(s.lease.lease_error, None);

        let mut s = state();
        let e = BackendError::Rejected {
            target: "haproxy".into(),
            message: "permission denied".into(),
        };
        apply_standing(&mut s, Some(Err(e)));
        assert_eq!(s.lease.role, Role::Observer);
        assert_eq!(
            s.lease.lease_error.as_deref(),
            Some("haproxy refused: permission denied")
        );
        assert_eq!(last_log(&s).0, Level::Error);
        assert!(last_log(&s).1.ends_with("r still rolls back"));

        let mut s = state();
        apply_standing(&mut s, None);
        assert_eq!(s.lease.role, Role::Observer);
        assert_eq!(
            s.lease.lease_error.as_deref(),
            Some("the lease store did not answer")
        );
        assert_eq!(last_log(&s).0, Level::Error);
    }

    #[test]
    fn quitting_says_where_traffic_was_left() {
        let mut s = state();
        assert_eq!(
            quit_lines(&s),
            ["cutover: quit; the backend's traffic state was never read"]
        );
        s.traffic.weights = Some(Weights::new(75, 25));
        assert_eq!(
            quit_lines(&s),
            ["cutover: quit; traffic left as the backend has it: green 25 % (blue 75 / green 25)"]
        );
    }

    #[test]
    fn quitting_names_writes_in_flight_unknown_and_not_journaled_first() {
        let mut s = state();
        s.writes.in_flight.push(write("step", 50));
        s.writes.unknown.push(write("set", 10));
        s.writes.not_journaled = Some("ROLLBACK NOT JOURNALED: disk full".into());
        s.traffic.weights = Some(Weights::new(100, 0));
        assert_eq!(
            quit_lines(&s),
            [
                "cutover: quit with a write IN FLIGHT: step green → 50 % (outcome unknown: it may still land; `cutover status` shows where it stands)",
                "cutover: a write's outcome is still UNKNOWN: set green → 10 %",
                "cutover: ROLLBACK NOT JOURNALED: disk full",
                "cutover: quit; traffic left as the backend has it: green 0 % (blue 100 / green 0)",
            ]
        );
    }

    #[test]
    fn a_cockpit_that_wrote_without_its_journal_exits_non_zero() {
        let mut s = state();
        assert!(!unjournaled(&s));
        s.writes.not_journaled = Some(
            "ROLLBACK NOT JOURNALED 21:15:13 — journal /dev/full: No space left on device".into(),
        );
        assert!(unjournaled(&s));
        assert!(
            quit_lines(&s)
                .iter()
                .any(|l| l.contains("ROLLBACK NOT JOURNALED")),
            "said on exit too"
        );
    }
}
