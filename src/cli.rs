//! The command line (clap types only).

use clap::builder::TypedValueParser as _;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "A full-screen terminal cockpit for one blue/green release",
    after_help = "With no command, opens the cockpit on ./cutover.toml (or --config).\nFirst time? Try `cutover demo`."
)]
pub struct Cli {
    /// The config file (default: ./cutover.toml).
    #[arg(long, short, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Theme: default, mono, deuteranopia, or a theme file. NO_COLOR is honoured.
    #[arg(long, global = true, value_name = "NAME|FILE", hide_possible_values = true, value_parser = Hinted::new(any, &["default", "mono", "deuteranopia"]))]
    pub theme: Option<String>,
    /// The journal file (default: the config's `journal`, else under $XDG_STATE_HOME/cutover).
    #[arg(long, global = true, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Never write, whatever the keys: watch only. Takes no driver lease.
    #[arg(long, global = true)]
    pub read_only: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The cockpit on the bundled simulator: nothing to install, nothing to configure.
    Demo {
        /// bad-release, happy, slow-start, or a scenario .toml file.
        #[arg(long, default_value = "bad-release", hide_possible_values = true, value_parser = Hinted::new(any, &["bad-release", "happy", "slow-start"]))]
        scenario: String,
        /// The simulator's random seed (default: the scenario's), for a run to repeat.
        #[arg(long)]
        seed: Option<u64>,
        /// How long live is kept warm after promotion.
        #[arg(long, value_parser = window_arg, default_value = "15m")]
        rollback_window: Duration,
        /// How long each weight write takes to land (drill a slow backend).
        #[arg(long, value_parser = write_delay_arg, default_value = "0s")]
        write_delay: Duration,
    },
    /// The simulator as real HTTP servers.
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
    /// Print the traffic state, both envs' signals and the guardrails' verdict. A signal
    /// source whose rates need two readings is read twice, one poll-interval apart.
    Status {
        /// As JSON (unknown values are null).
        #[arg(long)]
        json: bool,
    },
    /// Set the candidate's share (0-100).
    Set {
        #[arg(value_parser = clap::value_parser!(u8).range(0..=100))]
        share: u8,
        /// Confirm a promotion to 100 %, or a move over a breached guardrail, stale data or a
        /// candidate nothing has judged (an override, journaled).
        #[arg(long)]
        yes: bool,
    },
    /// Step forward to the next share in the plan.
    Step {
        /// Confirm a promotion to 100 %, or a step over a breached guardrail, stale data or a
        /// candidate nothing has judged (an override, journaled).
        #[arg(long)]
        yes: bool,
    },
    /// Step back to the previous share in the plan.
    Back,
    /// All traffic to the rollback target, now, in one backend call. Never gated by the
    /// driver lease. The target is `live` in the config, else the cutover record at the
    /// backend, else the env holding all the traffic; with a split and no record, pass --to.
    Rollback {
        /// Send all traffic to this env (blue or green), whatever the record says.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["blue", "green"]).try_map(|s| s.parse::<crate::core::Env>()))]
        to: Option<crate::core::Env>,
    },
    /// Check the config and that the backend and signal sources answer.
    Check,
    /// Approve another person's request (`[approval]`): shows the status and the request,
    /// then asks (at a terminal) before approving. The same person cannot approve itself.
    Approve {
        /// Approve without asking (no terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Decline another person's request for approval, saying why (kept to 40 characters).
    Decline {
        /// Why, in a few words.
        reason: String,
    },
    /// The journal as an incident timeline, fit to paste into a post-mortem.
    Journal {
        /// Only what happened since: a duration (`2h`) or a time (`2026-11-23T14:00:00Z`).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: TimelineFormat,
    },
    /// Block until the cutover reaches a state, printing one line per change; for
    /// pipelines. Reads the backend and the cutover record (not the local journal). Exit
    /// 0: it holds; 1: timed out; 2: bad usage or config; 3: rolled back while waiting for
    /// anything else; 130: interrupted (Ctrl-C, SIGTERM).
    Wait {
        /// promoted, rolled-back, share=N (the candidate's share), healthy (the candidate's
        /// guardrails all ok) or window-done (the rollback window ran out).
        #[arg(long = "for", value_name = "CONDITION", hide_possible_values = true, value_parser = Hinted::new(crate::core::wait::Condition::parse, &["promoted", "rolled-back", "share=", "healthy", "window-done"]))]
        until: crate::core::wait::Condition,
        /// Give up after this long (exit 1).
        #[arg(long, value_parser = wait_timeout_arg, default_value = "10m")]
        timeout: Duration,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a commented cutover.toml for a backend, then check it. With --discover, find
    /// what to drive with your own credentials and read-only calls, list it, and let you pick.
    Init(InitArgs),
    /// Print a shell completion script: `cutover completions bash > …` (see the README for
    /// where each shell looks).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `cutover man > ~/.local/share/man/man1/cutover.1`.
    Man,
}

/// `cutover init`: the backend, discovery and where it starts.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The backend kind (`kube` finds any of the kube kinds with --discover).
    #[arg(long, value_enum, default_value = "sim")]
    pub backend: InitKind,
    /// Find candidates with read-only calls and pick one (else a template to edit).
    #[arg(long)]
    pub discover: bool,
    /// Take the Nth candidate found, without asking.
    #[arg(long, value_name = "N", requires = "discover")]
    pub pick: Option<usize>,
    /// Overwrite an existing config (the old one is kept as FILE.bak).
    #[arg(long)]
    pub force: bool,
    /// The cutover's name (default: what was discovered, else "checkout-api").
    #[arg(long)]
    pub name: Option<String>,
    /// HAProxy: the runtime API, host:port or a unix socket path.
    #[arg(long, value_name = "HOST:PORT|PATH")]
    pub socket: Option<String>,
    /// nginx: the file holding the upstream blocks.
    #[arg(long, value_name = "FILE")]
    pub upstream_file: Option<PathBuf>,
    /// Route53: the hosted zone to look in.
    #[arg(long, value_name = "ID")]
    pub hosted_zone_id: Option<String>,
    /// AWS: the region (else the SDK's chain).
    #[arg(long)]
    pub region: Option<String>,
    /// AWS: a named profile.
    #[arg(long)]
    pub profile: Option<String>,
    /// AWS: an emulator or a VPC endpoint.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Kubernetes: the kubeconfig (else $KUBECONFIG, ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubernetes: the context (else the current one).
    #[arg(long)]
    pub context: Option<String>,
    /// Kubernetes: the namespace (else the context's).
    #[arg(long)]
    pub namespace: Option<String>,
}

/// The backends `init` writes a config for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InitKind {
    Sim,
    Haproxy,
    Nginx,
    Alb,
    Route53,
    ElasticBeanstalk,
    /// Any kube kind (with --discover).
    Kube,
    KubeService,
    KubeGateway,
    KubeIstio,
    KubeIngressNginx,
}

impl InitKind {
    /// The config's `kind`.
    pub fn kind(self) -> &'static str {
        match self {
            InitKind::Sim => "sim",
            InitKind::Haproxy => "haproxy",
            InitKind::Nginx => "nginx",
            InitKind::Alb => "alb",
            InitKind::Route53 => "route53",
            InitKind::ElasticBeanstalk => "elastic-beanstalk",
            InitKind::Kube | InitKind::KubeGateway => "kube-gateway",
            InitKind::KubeService => "kube-service",
            InitKind::KubeIstio => "kube-istio",
            InitKind::KubeIngressNginx => "kube-ingress-nginx",
        }
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum TimelineFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the simulator: one HTTP server per env (/, /health, /metrics) and a control
    /// server. Prints the bound addresses as one JSON line.
    Serve {
        /// bad-release, happy, slow-start, or a scenario .toml file.
        #[arg(long, default_value = "bad-release", hide_possible_values = true, value_parser = Hinted::new(any, &["bad-release", "happy", "slow-start"]))]
        scenario: String,
        /// The simulator's random seed (default: the scenario's), for a run to repeat.
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, default_value = "127.0.0.1:7070")]
        control: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:8081")]
        blue: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:8082")]
        green: SocketAddr,
        /// How long each weight write takes to land.
        #[arg(long, value_parser = write_delay_arg, default_value = "0s")]
        write_delay: Duration,
        /// No built-in load: only real requests (e.g. through a load balancer).
        #[arg(long)]
        no_load: bool,
        /// Answer real requests at once instead of sleeping their simulated latency.
        #[arg(long)]
        no_sleep: bool,
        /// Send the scenario's load as real HTTP requests to this URL (a balancer in front
        /// of the envs) instead of splitting it inside the simulator.
        #[arg(long, value_name = "URL")]
        load_through: Option<String>,
    },
}

/// A value parser that takes what its function accepts and offers `hints` to the shells'
/// completion and to `--help` (a file name, or `share=N`, is taken too).
#[derive(Clone)]
pub struct Hinted<T> {
    parse: fn(&str) -> Result<T, String>,
    hints: &'static [&'static str],
}

impl<T> Hinted<T> {
    pub fn new(parse: fn(&str) -> Result<T, String>, hints: &'static [&'static str]) -> Self {
        Hinted { parse, hints }
    }
}

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Hinted<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let parse = self.parse;
        clap::builder::StringValueParser::new()
            .try_map(move |s| parse(&s))
            .parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            self.hints
                .iter()
                .map(|h| clap::builder::PossibleValue::new(*h)),
        ))
    }
}

/// Any text.
#[allow(clippy::unnecessary_wraps)] // the shape of a value parser
fn any(s: &str) -> Result<String, String> {
    Ok(s.to_string())
}

/// A duration argument within `min..=max`, said with the range when not.
fn bounded_arg(s: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{e}: expected a duration like 30s, 10m or 2h"))?;
    if d < min || d > max {
        return Err(format!(
            "expected a duration from {} to {}",
            humantime::format_duration(min),
            humantime::format_duration(max)
        ));
    }
    Ok(d)
}

/// `--rollback-window`: 1 s to 24 h, as the config's `rollback-window`.
fn window_arg(s: &str) -> Result<Duration, String> {
    bounded_arg(s, Duration::from_secs(1), Duration::from_secs(24 * 3600))
}

/// `--timeout` of `wait`: 1 s to 7 days.
fn wait_timeout_arg(s: &str) -> Result<Duration, String> {
    bounded_arg(
        s,
        Duration::from_secs(1),
        Duration::from_secs(7 * 24 * 3600),
    )
}

/// `--write-delay`: how long the simulator takes to land a write, up to 10 minutes (the
/// longest backend timeout).
fn write_delay_arg(s: &str) -> Result<Duration, String> {
    bounded_arg(s, Duration::ZERO, Duration::from_secs(600))
}
