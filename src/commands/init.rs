//! `cutover init`: a commented `cutover.toml` for one backend — a template to fill in, or,
//! with `--discover`, what the user's own credentials find with read-only calls, listed
//! and picked — written atomically (never over an existing one without `--force`), then
//! checked as `cutover check` would.

use super::EXIT_USAGE;
use crate::backends::discover::{Found, quoted};
use crate::cli::{Cli, InitArgs, InitKind};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// How long one discovery call may take.
const DISCOVER_TIMEOUT: Duration = Duration::from_secs(10);

/// `cutover init [--backend KIND] [--discover [--pick N]] [--force]`.
pub(super) async fn init(cli: &Cli, a: &InitArgs) -> anyhow::Result<ExitCode> {
    let path = cli
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("cutover.toml"));
    if let Err(why) = writable(&path, a.force) {
        err!("cutover: {why}; nothing written");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    if let Err(why) = usage(a) {
        err!("cutover: {why}");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let found = if a.discover {
        match discover(a).await {
            Ok((found, notes)) => {
                // Kubernetes: resources not listed; elsewhere: what was seen and is not a pair.
                let why = if a.backend.kind().starts_with("kube") {
                    "not looked at"
                } else {
                    "skipped"
                };
                for n in &notes {
                    err!("  ({why}: {n})");
                }
                match choose(a, found)? {
                    Ok(f) => Some(f),
                    Err(code) => return Ok(code),
                }
            }
            Err(e) => {
                err!("cutover: discovery failed: {e}");
                return Ok(ExitCode::FAILURE);
            }
        }
    } else {
        None
    };
    let text = template(a, found.as_ref());
    // What would not load is not written: a `--name` or a found name the config refuses.
    if let Err(e) = crate::config::Config::parse(&text, &path.display().to_string()) {
        err!("cutover: nothing written: {e}");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    match write_atomically(&path, &text, a.force) {
        Ok(Some(bak)) => out!(
            "wrote {} (the old one is kept as {})",
            path.display(),
            bak.display()
        ),
        Ok(None) => out!("wrote {}", path.display()),
        Err(e) => {
            err!("cutover: cannot write {}: {e}", path.display());
            return Ok(ExitCode::FAILURE);
        }
    }
    if found.is_none() && a.backend != InitKind::Sim {
        out!("fill in the values marked EDIT, then run `cutover check`; checking it as it is:");
    } else {
        out!("checking it (`cutover check`):");
    }
    let checked = Cli {
        config: Some(path.clone()),
        theme: None,
        journal: cli.journal.clone(),
        read_only: true,
        command: None,
    };
    // As `check` exits: 2 for a config that does not load as written (a kube template with
    // no kubeconfig to be found), 1 for something that does not answer.
    let code = match super::check::check(&checked).await {
        Ok(code) => code,
        Err(e) => {
            err!("cutover: {e:#}");
            if e.downcast_ref::<crate::config::ConfigError>().is_some() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::FAILURE
            }
        }
    };
    if code == ExitCode::SUCCESS {
        out!(
            "ready: `cutover{}` opens the cockpit",
            if path == Path::new("cutover.toml") {
                String::new()
            } else {
                format!(" --config {}", path.display())
            }
        );
    } else {
        out!(
            "{} is kept as written: fix what the check says and run `cutover check` again",
            path.display()
        );
    }
    Ok(code)
}

/// Whether `path` may be written: not a folder, its folder there, and nothing at it
/// (a file, a link, even one pointing nowhere) unless `force`.
fn writable(path: &Path, force: bool) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(format!(
                "{} is a folder: name the file to write (e.g. {})",
                path.display(),
                path.join("cutover.toml").display()
            ));
        }
        Ok(_) if !force => {
            return Err(format!(
                "{} exists (pass --force to replace it; the old one is then kept as {})",
                path.display(),
                backup_name(path).display()
            ));
        }
        _ => {}
    }
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return Err(format!("the folder {} does not exist", folder.display()));
    }
    Ok(())
}

/// Flags that do not fit together, said with what to pass instead.
fn usage(a: &InitArgs) -> Result<(), String> {
    let kind = a.backend.kind();
    let aws = matches!(
        a.backend,
        InitKind::Alb | InitKind::Route53 | InitKind::ElasticBeanstalk
    );
    let kube = kind.starts_with("kube");
    for (flag, given, fits) in [
        (
            "--socket",
            a.socket.is_some(),
            a.backend == InitKind::Haproxy,
        ),
        (
            "--upstream-file",
            a.upstream_file.is_some(),
            a.backend == InitKind::Nginx,
        ),
        (
            "--hosted-zone-id",
            a.hosted_zone_id.is_some(),
            a.backend == InitKind::Route53,
        ),
        ("--region", a.region.is_some(), aws),
        ("--profile", a.profile.is_some(), aws),
        ("--endpoint-url", a.endpoint_url.is_some(), aws),
        ("--kubeconfig", a.kubeconfig.is_some(), kube),
        ("--context", a.context.is_some(), kube),
        ("--namespace", a.namespace.is_some(), kube),
    ] {
        if given && !fits {
            return Err(format!(
                "{flag} is not a flag for --backend {kind}: did you mean another --backend?"
            ));
        }
    }
    if !a.discover {
        if a.backend == InitKind::Kube {
            return Err("--backend kube finds the kind with --discover; without it, name one: kube-service, kube-gateway, kube-istio or kube-ingress-nginx".into());
        }
        return Ok(());
    }
    let need = |flag: Option<()>, what: &str| flag.ok_or_else(|| what.to_string());
    match a.backend {
        InitKind::Haproxy => need(
            a.socket.as_ref().map(|_| ()),
            "--discover --backend haproxy needs --socket HOST:PORT|PATH: HAProxy's runtime API (`stats socket` in haproxy.cfg)",
        ),
        InitKind::Nginx => need(
            a.upstream_file.as_ref().map(|_| ()),
            "--discover --backend nginx needs --upstream-file FILE: the nginx file holding the upstream blocks",
        ),
        InitKind::Route53 => need(
            a.hosted_zone_id.as_ref().map(|_| ()),
            "--discover --backend route53 needs --hosted-zone-id ID: the zone to look in",
        ),
        InitKind::Alb
        | InitKind::Kube
        | InitKind::KubeService
        | InitKind::KubeGateway
        | InitKind::KubeIstio => Ok(()),
        InitKind::Sim | InitKind::ElasticBeanstalk | InitKind::KubeIngressNginx => Err(format!(
            "--discover does not look for {} yet: run `cutover init --backend {}` for a template to fill in",
            a.backend.kind(),
            a.backend.kind()
        )),
    }
}

/// What the chosen backend's discovery finds, and what it could not look at.
async fn discover(a: &InitArgs) -> Result<(Vec<Found>, Vec<String>), String> {
    use crate::backends::{alb, haproxy, kube, nginx, route53};
    let aws = alb::Where {
        region: a.region.clone(),
        profile: a.profile.clone(),
        endpoint_url: a.endpoint_url.clone(),
    };
    let only = |v: Vec<Found>| (v, Vec::new());
    match a.backend {
        InitKind::Haproxy => {
            let socket = a.socket.as_deref().unwrap_or_default();
            haproxy::discover(socket, DISCOVER_TIMEOUT).await
        }
        InitKind::Nginx => {
            let file = a.upstream_file.clone().unwrap_or_default();
            let file = std::path::absolute(&file).unwrap_or(file);
            nginx::discover(&file)
        }
        InitKind::Alb => alb::discover(&aws, DISCOVER_TIMEOUT).await.map(only),
        InitKind::Route53 => {
            let zone = a.hosted_zone_id.as_deref().unwrap_or_default();
            route53::discover(zone, &aws, DISCOVER_TIMEOUT)
                .await
                .map(only)
        }
        _ => {
            let w = kube::KubeWhere {
                kubeconfig: a.kubeconfig.clone(),
                context: a.context.clone(),
                namespace: a.namespace.clone(),
            };
            let (found, notes) = kube::discover(&w, DISCOVER_TIMEOUT).await?;
            let want = (a.backend != InitKind::Kube).then(|| quoted(a.backend.kind()));
            let found = found
                .into_iter()
                .filter(|f| want.as_ref().is_none_or(|k| kind_of(f) == Some(k)))
                .collect();
            Ok((found, notes))
        }
    }
}

/// The `kind` a found pair names, when it names one (Kubernetes).
fn kind_of(f: &Found) -> Option<&String> {
    f.keys.iter().find(|(k, _)| *k == "kind").map(|(_, v)| v)
}

/// The list, and the one picked: `--pick N`, the only one, or asked at a terminal. `Err`
/// carries the exit code when none is (nothing found, no terminal to ask, `q`).
fn choose(a: &InitArgs, found: Vec<Found>) -> anyhow::Result<Result<Found, ExitCode>> {
    if found.is_empty() {
        err!(
            "cutover: found nothing {} could drive: {}; nothing written",
            a.backend.kind(),
            looked_for(a.backend)
        );
        return Ok(Err(ExitCode::FAILURE));
    }
    out!("found {}:", found.len());
    for (i, f) in found.iter().enumerate() {
        out!("  {}) {}", i + 1, f.what);
    }
    let n = found.len();
    if let Some(p) = a.pick {
        if p == 0 || p > n {
            err!("cutover: --pick {p}: expected 1 to {n}; nothing written");
            return Ok(Err(ExitCode::from(EXIT_USAGE)));
        }
        return Ok(Ok(found.into_iter().nth(p - 1).expect("in range")));
    }
    if n == 1 {
        out!("taking the only one");
        return Ok(Ok(found.into_iter().next().expect("one")));
    }
    if !std::io::stdin().is_terminal() {
        err!("cutover: {n} found and no terminal to ask: pass --pick N; nothing written");
        return Ok(Err(ExitCode::from(EXIT_USAGE)));
    }
    loop {
        print!("which one? [1-{n}, q to quit] ");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line)? == 0 || line.trim() == "q" {
            err!("cutover: nothing picked; nothing written");
            return Ok(Err(ExitCode::FAILURE));
        }
        match line.trim().parse::<usize>() {
            Ok(p) if (1..=n).contains(&p) => {
                return Ok(Ok(found.into_iter().nth(p - 1).expect("in range")));
            }
            _ => out!("expected a number from 1 to {n}"),
        }
    }
}

/// What discovery looks for, for a "found nothing".
fn looked_for(k: InitKind) -> &'static str {
    match k {
        InitKind::Haproxy => "no backend with exactly two servers in `show stat`",
        InitKind::Nginx => {
            "no upstream block with exactly two servers cutover can set (no include, hash or third server)"
        }
        InitKind::Alb => {
            "no listener or rule whose forward action holds exactly two target groups (DescribeLoadBalancers, DescribeListeners, DescribeRules)"
        }
        InitKind::Route53 => "no pair of weighted records of one name and type in the zone",
        _ => {
            "no HTTPRoute rule or VirtualService route with two backends, nor a Service whose selector picks one of two Deployments, in the namespace"
        }
    }
}

/// The `[backend]` keys of a template, each `(key, value, comment)`; a value to fill in is
/// marked EDIT. Flags given (`--socket`, `--region`, …) are used as they are.
fn placeholders(a: &InitArgs) -> Vec<(&'static str, String, &'static str)> {
    let or = |v: &Option<String>, d: &str| quoted(v.as_deref().unwrap_or(d));
    let edit = "EDIT";
    let mut keys = match a.backend {
        InitKind::Sim => vec![(
            "control",
            quoted("127.0.0.1:7070"),
            "`cutover sim serve` in another terminal (its output to a file)",
        )],
        InitKind::Haproxy => vec![
            (
                "socket",
                or(&a.socket, "127.0.0.1:9999"),
                "EDIT: the runtime API (`stats socket … level admin`): host:port or a unix socket path",
            ),
            (
                "backend",
                quoted("app"),
                "EDIT: the HAProxy backend section",
            ),
            ("blue-server", quoted("blue"), "EDIT: its two servers"),
            ("green-server", quoted("green"), edit),
        ],
        InitKind::Nginx => vec![
            (
                "config",
                quoted(&a.upstream_file.as_ref().map_or_else(
                    || "/etc/nginx/conf.d/app.conf".into(),
                    |p| p.display().to_string(),
                )),
                "EDIT: the file holding the upstream block",
            ),
            ("upstream", quoted("app"), edit),
            (
                "blue-server",
                quoted("10.0.2.15:8080"),
                "EDIT: the servers as written in the block",
            ),
            ("green-server", quoted("10.0.2.16:8080"), edit),
        ],
        InitKind::Alb | InitKind::Route53 | InitKind::ElasticBeanstalk => aws_keys(a),
        _ => kube_keys(a.backend),
    };
    let aws = matches!(
        a.backend,
        InitKind::Alb | InitKind::Route53 | InitKind::ElasticBeanstalk
    );
    if aws && a.region.is_none() {
        keys.push((
            "# region",
            quoted("eu-west-1"),
            "else the SDK's chain (AWS_REGION, the profile)",
        ));
    }
    if aws {
        for (k, v) in [
            ("region", &a.region),
            ("profile", &a.profile),
            ("endpoint-url", &a.endpoint_url),
        ] {
            if let Some(v) = v {
                keys.push((k, quoted(v), ""));
            }
        }
    }
    if a.backend.kind().starts_with("kube") {
        for (k, v) in [
            (
                "kubeconfig",
                &a.kubeconfig.as_ref().map(|p| p.display().to_string()),
            ),
            ("context", &a.context),
            ("namespace", &a.namespace),
        ] {
            if let Some(v) = v {
                keys.insert(0, (k, quoted(v), ""));
            }
        }
    }
    keys
}

/// The AWS kinds' keys to fill in.
fn aws_keys(a: &InitArgs) -> Vec<(&'static str, String, &'static str)> {
    let or = |v: &Option<String>, d: &str| quoted(v.as_deref().unwrap_or(d));
    let edit = "EDIT";
    match a.backend {
        InitKind::Alb => vec![
            (
                "listener-arn",
                quoted("arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID"),
                "EDIT (or rule-arn = \"…:listener-rule/…\"); `cutover init --backend alb --discover` finds them",
            ),
            (
                "blue-target-group",
                quoted("arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME-blue/ID"),
                edit,
            ),
            (
                "green-target-group",
                quoted("arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME-green/ID"),
                edit,
            ),
        ],
        InitKind::Route53 => vec![
            (
                "hosted-zone-id",
                or(&a.hosted_zone_id, "Z0123456789ABCDEFGHIJ"),
                edit,
            ),
            (
                "record-name",
                quoted("www.example.com"),
                "EDIT: both weighted records have this name and type",
            ),
            ("record-type", quoted("A"), "A, AAAA or CNAME"),
            ("blue-set-identifier", quoted("blue"), edit),
            ("green-set-identifier", quoted("green"), edit),
        ],
        _ => vec![
            ("application", quoted("checkout"), edit),
            ("blue-environment", quoted("checkout-blue"), edit),
            ("green-environment", quoted("checkout-green"), edit),
            (
                "production-cname",
                quoted("checkout-prod"),
                "EDIT: the URL users hit, or its prefix",
            ),
        ],
    }
}

/// The Kubernetes kinds' keys to fill in.
fn kube_keys(k: InitKind) -> Vec<(&'static str, String, &'static str)> {
    let edit = "EDIT";
    match k {
        InitKind::KubeService => vec![
            (
                "service",
                quoted("checkout"),
                "EDIT: its selector's `selector-key` picks blue or green",
            ),
            ("selector-key", quoted("version"), ""),
            ("blue-value", quoted("blue"), ""),
            ("green-value", quoted("green"), ""),
        ],
        InitKind::Kube | InitKind::KubeGateway => vec![
            (
                "http-route",
                quoted("checkout"),
                "EDIT: an HTTPRoute whose rule's backendRefs name both Services",
            ),
            ("blue-service", quoted("checkout-blue"), edit),
            ("green-service", quoted("checkout-green"), edit),
            (
                "weight-scale",
                "100".into(),
                "HTTPRoute weights are proportional",
            ),
        ],
        InitKind::KubeIstio => vec![
            (
                "virtual-service",
                quoted("checkout"),
                "EDIT: a VirtualService http route with both destinations",
            ),
            ("blue-host", quoted("checkout"), edit),
            ("blue-subset", quoted("blue"), ""),
            ("green-host", quoted("checkout"), edit),
            ("green-subset", quoted("green"), ""),
        ],
        _ => vec![
            (
                "blue-ingress",
                quoted("checkout-blue"),
                "EDIT: one Ingress per env; one is the canary",
            ),
            ("green-ingress", quoted("checkout-green"), edit),
        ],
    }
}

/// The whole file: what every key is for, in comments, around the backend's keys.
fn template(a: &InitArgs, found: Option<&Found>) -> String {
    let kind = found
        .and_then(kind_of)
        .cloned()
        .unwrap_or_else(|| quoted(a.backend.kind()));
    let name = a
        .name
        .clone()
        .or_else(|| found.map(|f| f.name.clone()))
        .unwrap_or_else(|| "checkout-api".into());
    let flip_only = matches!(kind.as_str(), "\"kube-service\"" | "\"elastic-beanstalk\"");
    let mut t = String::new();
    t.push_str(&format!(
        "# cutover.toml, written by `cutover init --backend {}{}`.\n",
        a.backend.kind(),
        if found.is_some() { " --discover" } else { "" }
    ));
    t.push_str(
        "# Every key is in the README (\"Config\"). `cutover check` checks this file and that\n",
    );
    t.push_str("# everything it names answers; `cutover` opens the cockpit on it.\n\n");
    t.push_str(&format!(
        "name = {}{}# names the journal and the title\n",
        quoted(&name),
        pad(&format!("name = {}", quoted(&name)), 32)
    ));
    t.push_str("poll-interval = \"1s\"            # how often both envs are read\n");
    if flip_only {
        t.push_str("plan = [100]                    # this backend flips: all or nothing\n");
    } else {
        t.push_str("plan = [10, 50, 100]            # the candidate's shares, one step each\n");
    }
    t.push_str("rollback-window = \"15m\"         # how long live is kept warm after promotion\n");
    t.push_str("# live = \"blue\"                 # who is live, if you would rather say than let the backend tell\n\n");
    t.push_str("[backend]\n");
    t.push_str(&format!("kind = {kind}\n"));
    match found {
        Some(f) => {
            for (k, v) in f.keys.iter().filter(|(k, _)| *k != "kind") {
                t.push_str(&format!("{k} = {v}\n"));
            }
        }
        None => {
            for (k, v, c) in placeholders(a) {
                let line = format!("{k} = {v}");
                if c.is_empty() {
                    t.push_str(&format!("{line}\n"));
                } else {
                    t.push_str(&format!("{line}{}# {c}\n", pad(&line, 32)));
                }
            }
        }
    }
    t.push_str("# timeout = \"5s\"                # a write not answered in time is \"outcome UNKNOWN\"\n\n");
    t.push_str("# Each env's health probes, any number (the backend's own health is read too):\n");
    t.push_str("# [envs.blue]\n# health = [\"http://10.0.2.15:8080/health\"]\n");
    t.push_str("# [envs.green]\n# health = [\"http://10.0.2.16:8080/health\"]\n\n");
    t.push_str("# Error rate and p99 from Prometheus (README \"Prometheus\"):\n");
    t.push_str("# [prometheus]\n# url = \"http://127.0.0.1:9090\"\n\n");
    t.push_str("[guardrails]\n");
    t.push_str("max-error-rate = 0.01            # 1 %: above it the candidate is in breach\n");
    t.push_str("max-p99 = \"2s\"\n");
    t.push_str("max-health-failures = 3\n");
    t.push_str("# auto-rollback = \"30s\"          # roll back on its own after a breach lasting this long\n");
    t
}

/// Spaces to column `to` after `s` (at least one).
fn pad(s: &str, to: usize) -> String {
    " ".repeat(to.saturating_sub(s.chars().count()).max(1))
}

/// `FILE.bak`, or the first of `FILE.bak.2`, `FILE.bak.3`, … that is free: an older
/// backup is never replaced.
fn backup_name(path: &Path) -> PathBuf {
    let with = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    let first = with(".bak");
    if std::fs::symlink_metadata(&first).is_err() {
        return first;
    }
    (2..1000)
        .map(|n| with(&format!(".bak.{n}")))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .unwrap_or(first)
}

/// The file written whole or not at all: a temp file beside it, then a rename over it.
/// With `force`, what was there is kept first under [`backup_name`]: a file copied, a
/// symbolic link moved (the link itself, not what it points to); returns where.
fn write_atomically(path: &Path, text: &str, force: bool) -> std::io::Result<Option<PathBuf>> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.init-{}",
        path.file_name()
            .map_or_else(|| "cutover.toml".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create_new(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        let kept = match std::fs::symlink_metadata(path) {
            Err(_) => None,
            Ok(_) if !force => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "it appeared meanwhile",
                ));
            }
            Ok(m) => {
                let bak = backup_name(path);
                if m.file_type().is_symlink() {
                    std::fs::rename(path, &bak)?;
                } else {
                    std::fs::copy(path, &bak)?;
                }
                Some(bak)
            }
        };
        std::fs::rename(&tmp, path)?;
        Ok(kept)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
