//! The schema guard, pure: the database's applied migrations (as a migration tool keeps
//! them) judged against the rollback target. "Rollback is a routing change only while both
//! versions can run on the same schema": a migration applied since the cutover began that
//! drops or renames what the old version reads (a *contract* migration), one that failed or
//! left the history dirty, or one past the version the rollback target was last proven on
//! (`schema-max`) makes a rollback unsafe. Rollback is never blocked by it: it is said.
//! An unreachable database, or a history that cannot tell, is unknown, never safe.

use super::Env;
use regex::Regex;
use std::cmp::Ordering;

/// One applied migration, as its tool records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    /// The order it was applied in (Flyway's `installed_rank`, Liquibase's
    /// `orderexecuted`, Django's `id`; golang-migrate's and Rails' numeric version).
    pub rank: Option<i64>,
    /// Its version or id as the tool names it (`43`, `20240101120000`, `orders.0002_x`).
    pub version: String,
    /// What the tool says it does (Flyway's description, Liquibase's change types, a
    /// Django migration's name); `None` where the tool keeps none.
    pub description: Option<String>,
    /// Its script or file name, where the tool keeps one.
    pub script: Option<String>,
    /// When it was applied (unix ms), where the tool keeps it.
    pub applied_at: Option<i64>,
    /// Failed (Flyway `success = false`, Liquibase `FAILED`) or left dirty (golang-migrate).
    pub failed: bool,
}

impl Migration {
    /// `V43` for a numeric version, else the version as it is.
    pub fn label(&self) -> String {
        version_label(&self.version)
    }

    /// What the contract pattern is matched against: the description and the script name,
    /// each also with `_`/`-` as spaces and camelCase split (`dropColumn` → `drop Column`),
    /// so that `\bdrop\b` finds `V43__drop_total.sql` and Liquibase's `dropColumn`.
    fn texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in [&self.description, &self.script].into_iter().flatten() {
            out.push(t.clone());
            out.push(spaced(t));
        }
        out
    }

    /// Whether the tool said what this migration does: a description, or a script name
    /// with words beyond its version (`V43__.sql` says nothing).
    pub fn described(&self) -> bool {
        self.description
            .as_deref()
            .is_some_and(|d| !d.trim().is_empty())
            || self
                .script
                .as_deref()
                .is_some_and(|d| script_words(d).is_some())
    }

    /// The description as shown: `'drop column orders total'`, or the script name.
    pub fn what(&self) -> Option<String> {
        self.description
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .or(self.script.as_deref().filter(|d| !d.trim().is_empty()))
            .map(|d| format!("'{}'", d.trim()))
    }
}

/// A script name's words: without its folder, extension and `V43__`-style version prefix.
fn script_words(name: &str) -> Option<&str> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    // The extension (`.sql`, `.xml`), not a dot of the version (`V1.5.0__x.sql`).
    let base = match base.rsplit_once('.') {
        Some((b, ext)) if !ext.is_empty() && ext.chars().all(|c| c.is_ascii_alphabetic()) => b,
        _ => base,
    };
    let base = base.split_once("__").map_or(base, |(_, rest)| rest);
    let base = base.trim_matches(|c: char| !c.is_alphanumeric());
    base.chars().any(char::is_alphabetic).then_some(base)
}

/// `V43` for a numeric version, else the version as it is.
pub fn version_label(v: &str) -> String {
    if v.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{v}")
    } else {
        v.to_string()
    }
}

fn spaced(t: &str) -> String {
    let mut out = String::with_capacity(t.len() + 8);
    let mut prev_lower = false;
    for c in t.chars() {
        if c == '_' || c == '-' {
            out.push(' ');
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.push(c);
    }
    out
}

/// The migrations as read, oldest first (at most the newest few hundred).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchemaRead {
    pub migrations: Vec<Migration>,
    /// The tool that keeps them, for words (`flyway`).
    pub tool: String,
}

impl SchemaRead {
    /// The newest migration.
    pub fn head(&self) -> Option<&Migration> {
        self.migrations.last()
    }

    /// What goes into the cutover record as the baseline: the newest migration's rank
    /// where the tool keeps one, else its version; `-` for an empty history. Only
    /// letters, digits and `._-`, at most 40 characters (it must fit an AWS tag).
    pub fn baseline(&self) -> String {
        self.head().map_or_else(
            || "-".to_string(),
            |m| {
                m.rank.map_or_else(
                    || token(&m.version),
                    |r| token(&format!("{r}_{}", m.version)),
                )
            },
        )
    }

    /// The migration a baseline token names, while the history still has it.
    pub fn at_baseline(&self, baseline: &str) -> Option<&Migration> {
        match ranked(baseline) {
            Some((b, v)) if self.migrations.iter().any(|m| m.rank.is_some()) => {
                self.migrations.iter().find(|m| {
                    m.rank == Some(b)
                        && v.is_none_or(|v| {
                            token(&format!("{b}_{}", m.version)) == format!("{b}_{v}")
                        })
                })
            }
            _ => self
                .migrations
                .iter()
                .rfind(|m| token(&m.version) == baseline),
        }
    }

    /// The migrations applied after `baseline` (a token from [`SchemaRead::baseline`]):
    /// by rank where there is one; else those after the row it names. `None` when the
    /// history cannot say (the baseline is no longer in it).
    fn since_baseline(&self, baseline: &str) -> Option<Vec<&Migration>> {
        if baseline == "-" {
            return Some(self.migrations.iter().collect());
        }
        // A tool that keeps only its head (golang-migrate, Alembic): a different head is
        // new.
        // A rank below the baseline's is a history that went back or was cut: unknown.
        if self.migrations.len() == 1 {
            let m = &self.migrations[0];
            return match (m.rank, ranked(baseline).map(|(b, _)| b).ok_or(())) {
                (Some(r), Ok(b)) if r == b => Some(Vec::new()),
                (Some(r), Ok(b)) if r > b => Some(vec![m]),
                (Some(_), Ok(_)) => None,
                _ if token(&m.version) == baseline => Some(Vec::new()),
                _ => Some(vec![m]),
            };
        }
        if let Some((b, version)) = ranked(baseline)
            && self.migrations.iter().all(|m| m.rank.is_some())
        {
            // The baseline's own row must still be there, the same migration: a history
            // rewritten or cut since (a row deleted, renumbered, replaced) cannot say what
            // was applied after it.
            let same = |m: &&Migration| {
                m.rank == Some(b)
                    && version
                        .is_none_or(|v| token(&format!("{b}_{}", m.version)) == format!("{b}_{v}"))
            };
            if !self.migrations.iter().any(|m| same(&m)) {
                return None;
            }
            return Some(
                self.migrations
                    .iter()
                    .filter(|m| m.rank.is_some_and(|r| r > b))
                    .collect(),
            );
        }
        let at = self
            .migrations
            .iter()
            .rposition(|m| token(&m.version) == baseline);
        at.map(|i| self.migrations[i + 1..].iter().collect())
    }
}

/// A ranked baseline: `12_1.5.0` (rank and version) or, as older records keep it, `12`.
fn ranked(baseline: &str) -> Option<(i64, Option<&str>)> {
    match baseline.split_once('_') {
        Some((r, v)) => Some((r.parse().ok()?, Some(v))),
        None => Some((baseline.parse().ok()?, None)),
    }
}

/// A baseline token: the characters a record may hold.
fn token(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect()
}

/// Compares two versions: dotted or underscored numbers part by part (`1.10` > `1.9`),
/// `None` when either is not such a number (no order is guessed).
pub fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    let parts = |s: &str| -> Option<Vec<u64>> {
        s.trim_start_matches(['V', 'v'])
            .split(['.', '_'])
            .map(|p| p.parse::<u64>().ok())
            .collect()
    };
    let (a, b) = (parts(a)?, parts(b)?);
    let n = a.len().max(b.len());
    for i in 0..n {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        match x.cmp(&y) {
            Ordering::Equal => {}
            o => return Some(o),
        }
    }
    Some(Ordering::Equal)
}

/// Why one migration makes a rollback unsafe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Danger {
    /// Its description matches the contract pattern: it drops or renames what the old
    /// version may read.
    Contract,
    /// It failed, or left the history dirty.
    Failed,
    /// It is past the highest version the rollback target was proven on.
    PastMax(String),
}

impl Danger {
    fn rank(&self) -> u8 {
        match self {
            Danger::Failed => 0,
            Danger::Contract => 1,
            Danger::PastMax(_) => 2,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Danger::Contract => "contract",
            Danger::Failed => "failed",
            Danger::PastMax(_) => "past-schema-max",
        }
    }
}

/// One finding: a migration and what is wrong with it (the worst first: failed, contract,
/// past `schema-max`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub migration: Migration,
    pub dangers: Vec<Danger>,
}

impl Finding {
    /// The worst of its dangers.
    pub fn danger(&self) -> &Danger {
        &self.dangers[0]
    }
}

/// Adds `danger` to the finding for `m`, or a new finding.
fn flag(findings: &mut Vec<Finding>, m: &Migration, danger: Danger) {
    match findings.iter_mut().find(|f| f.migration == *m) {
        Some(f) => {
            f.dangers.push(danger);
            f.dangers.sort_by_key(Danger::rank);
        }
        None => findings.push(Finding {
            migration: m.clone(),
            dangers: vec![danger],
        }),
    }
}

/// Whether the rollback target can still run on the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Safety {
    /// `new`: migrations applied since the baseline, each judged expand-only (`false`) or
    /// covered by the target's `schema-max` (`true`: not judged by its description).
    Safe {
        head: Option<Migration>,
        new: Vec<(Migration, bool)>,
    },
    Unsafe {
        findings: Vec<Finding>,
    },
    /// The database did not answer, or the history cannot tell: never safe.
    Unknown {
        why: String,
    },
}

impl Safety {
    /// `safe`, `unsafe`, `unknown`: in JSON and the journal.
    pub fn state(&self) -> &'static str {
        match self {
            Safety::Safe { .. } => "safe",
            Safety::Unsafe { .. } => "unsafe",
            Safety::Unknown { .. } => "unknown",
        }
    }
}

/// What the guard judges against.
#[derive(Clone, Debug)]
pub struct Target<'a> {
    /// The rollback target.
    pub env: Env,
    /// The highest schema version it was proven on (`[envs.X] schema-max`).
    pub schema_max: Option<&'a str>,
    /// The record's baseline, when a cutover is recorded.
    pub baseline: Option<&'a str>,
    /// When the cutover began (unix ms): without a baseline, migrations applied since then
    /// are the new ones, where the tool keeps times.
    pub since: Option<i64>,
    /// Whether a cutover is recorded at all (no cutover: nothing is "new").
    pub cutover: bool,
}

/// Judges `read` for a rollback to `t.env`.
pub fn judge(read: &SchemaRead, t: &Target<'_>, contract: &Regex) -> Safety {
    let mut findings = Vec::new();
    for m in read.migrations.iter().filter(|m| m.failed) {
        flag(&mut findings, m, Danger::Failed);
    }
    // Past the target's proven version: whenever it was applied (a migration run at
    // deploy time, before any traffic moved, breaks the old version all the same).
    let mut unordered = None;
    let mut past = Vec::new();
    if let Some(max) = t.schema_max {
        match past_max(read, max) {
            Ok(p) => {
                for m in p {
                    flag(&mut findings, m, Danger::PastMax(max.to_string()));
                    past.push(m.clone());
                }
            }
            Err(why) => unordered = Some(why),
        }
    }
    let new: Option<Vec<&Migration>> = if !t.cutover {
        Some(Vec::new())
    } else if let Some(b) = t.baseline {
        read.since_baseline(b)
    } else if let Some(since) = t.since
        && read.migrations.iter().all(|m| m.applied_at.is_some())
    {
        Some(
            read.migrations
                .iter()
                .filter(|m| m.applied_at.is_some_and(|a| a >= since))
                .collect(),
        )
    } else {
        None
    };
    let covered =
        |m: &Migration| t.schema_max.is_some() && unordered.is_none() && !past.contains(m);
    let mut undescribed = Vec::new();
    if let Some(new) = &new {
        for m in new.iter().filter(|m| !m.failed && !covered(m)) {
            if !m.described() {
                undescribed.push(m.label());
            } else if m.texts().iter().any(|t| contract.is_match(t)) {
                flag(&mut findings, m, Danger::Contract);
            }
        }
    }
    if !findings.is_empty() {
        findings.sort_by_key(|f| f.migration.rank);
        return Safety::Unsafe { findings };
    }
    if let Some(why) = unordered {
        return Safety::Unknown { why };
    }
    let Some(new) = new else {
        return Safety::Unknown {
            why: match t.baseline {
                Some(b) => format!(
                    "the baseline the cutover recorded ({b}) is no longer in the {} history: cannot tell what was applied since",
                    read.tool
                ),
                None if t.since.is_none() => "no cutover record says when this cutover began (traffic was moved outside cutover?): what was applied since cannot be told".to_string(),
                None => format!(
                    "the cutover record has no schema baseline and {} keeps no times: cannot tell what was applied since the cutover began",
                    read.tool
                ),
            },
        };
    };
    if !undescribed.is_empty() {
        return Safety::Unknown {
            why: format!(
                "{} applied since the cutover began, and {} keeps no description: expand or contract cannot be told (set `schema-max` on {})",
                undescribed.join(", "),
                read.tool,
                t.env
            ),
        };
    }
    Safety::Safe {
        head: read.head().cloned(),
        new: new.into_iter().map(|m| (m.clone(), covered(m))).collect(),
    }
}

/// The migrations past `max`: by version where both are numbers, else those after the row
/// whose version is `max`. `Err` when neither can say.
fn past_max<'a>(read: &'a SchemaRead, max: &str) -> Result<Vec<&'a Migration>, String> {
    let numeric = read
        .migrations
        .iter()
        .all(|m| compare_versions(&m.version, max).is_some());
    if numeric {
        return Ok(read
            .migrations
            .iter()
            .filter(|m| compare_versions(&m.version, max) == Some(Ordering::Greater))
            .collect());
    }
    match read.migrations.iter().rposition(|m| m.version == max) {
        Some(i) => Ok(read.migrations[i + 1..].iter().collect()),
        None => Err(format!(
            "`schema-max` {max:?} is not in the {} history and does not compare with its versions",
            read.tool
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> Regex {
        Regex::new(r"(?i)\b(drop|rename|alter column .* type)\b").unwrap()
    }

    fn m(rank: i64, version: &str, desc: &str) -> Migration {
        Migration {
            rank: Some(rank),
            version: version.into(),
            description: Some(desc.into()),
            script: Some(format!("V{version}__{}.sql", desc.replace(' ', "_"))),
            applied_at: Some(1_000 * rank),
            failed: false,
        }
    }

    fn flyway(ms: Vec<Migration>) -> SchemaRead {
        SchemaRead {
            migrations: ms,
            tool: "flyway".into(),
        }
    }

    fn during(baseline: &str) -> Target<'_> {
        Target {
            env: Env::Blue,
            schema_max: None,
            baseline: Some(baseline),
            since: None,
            cutover: true,
        }
    }

    #[test]
    fn an_expand_migration_since_the_baseline_is_safe_and_a_contract_one_is_not() {
        let base = flyway(vec![m(1, "41", "create orders"), m(2, "42", "add index")]);
        let b = base.baseline();
        assert_eq!(b, "2_42");
        assert_eq!(base.at_baseline(&b).map(|m| m.version.as_str()), Some("42"));
        let mut read = base.clone();
        read.migrations
            .push(m(3, "43", "add nullable column orders note"));
        let s = judge(&read, &during(&b), &contract());
        assert!(
            matches!(&s, Safety::Safe { new, .. } if new.len() == 1),
            "{s:?}"
        );
        read.migrations.push(m(4, "44", "drop column orders total"));
        match judge(&read, &during(&b), &contract()) {
            Safety::Unsafe { findings } => {
                assert_eq!(findings.len(), 1);
                assert_eq!(findings[0].migration.version, "44");
                assert_eq!(*findings[0].danger(), Danger::Contract);
            }
            s => panic!("{s:?}"),
        }
        // A contract migration before the baseline is the old env's schema already.
        let s = judge(&read, &during("4"), &contract());
        assert!(matches!(s, Safety::Safe { .. }), "{s:?}");
    }

    #[test]
    fn a_rewritten_history_an_empty_description_and_a_double_danger_are_said_as_such() {
        let base = flyway(vec![m(1, "41", "create orders"), m(2, "42", "add index")]);
        // The baseline's row deleted (or renumbered): what came after cannot be told.
        let read = flyway(vec![m(1, "41", "create orders")]);
        assert_eq!(
            judge(&read, &during(&base.baseline()), &contract()).state(),
            "unknown"
        );
        let read = flyway(vec![m(1, "41", "create orders"), m(20, "42", "add index")]);
        assert_eq!(judge(&read, &during("2"), &contract()).state(), "unknown");
        // The baseline's rank taken by another migration since: not the baseline.
        let read = flyway(vec![
            m(1, "41", "create orders"),
            m(2, "43", "drop column x"),
        ]);
        assert_eq!(
            judge(&read, &during("2_42"), &contract()).state(),
            "unknown"
        );
        assert_eq!(judge(&base, &during("2_42"), &contract()).state(), "safe");
        // A migration with neither description nor a script name that says anything.
        let mut x = m(3, "43", "");
        x.script = Some("V43__.sql".into());
        assert!(!x.described());
        x.script = Some("V1.5.0__ .sql".into());
        assert!(!x.described());
        x.script = Some("V1.5.0__add_note.sql".into());
        assert!(x.described());
        x.script = Some("V43__.sql".into());
        let mut read = base.clone();
        read.migrations.push(x);
        assert_eq!(judge(&read, &during("2"), &contract()).state(), "unknown");
        // Past schema-max and a contract: one finding, both reasons.
        let mut read = base.clone();
        read.migrations.push(m(3, "43", "drop column orders total"));
        let t = Target {
            schema_max: Some("42"),
            ..during("2")
        };
        match judge(&read, &t, &contract()) {
            Safety::Unsafe { findings } => {
                assert_eq!(findings.len(), 1, "{findings:?}");
                assert_eq!(
                    findings[0].dangers,
                    vec![Danger::Contract, Danger::PastMax("42".into())]
                );
            }
            s => panic!("{s:?}"),
        }
        // Within schema-max: safe, and said as covered rather than as expand.
        let t = Target {
            schema_max: Some("43"),
            ..during("2")
        };
        match judge(&read, &t, &contract()) {
            Safety::Safe { new, .. } => assert!(new[0].1, "covered"),
            s => panic!("{s:?}"),
        }
    }

    #[test]
    fn script_names_and_camel_case_change_types_are_read_as_words() {
        let mut x = m(3, "43", "");
        x.description = None;
        x.script = Some("V43__drop_orders_total.sql".into());
        assert!(x.texts().iter().any(|t| contract().is_match(t)));
        x.script = Some("db/changelog.xml".into());
        x.description = Some("dropColumn columnName=total, tableName=orders".into());
        assert!(x.texts().iter().any(|t| contract().is_match(t)));
        x.description = Some("addColumn columnName=note; dropper table renamed_x".into());
        // `dropper` and `renamed` are not the words `drop` and `rename`.
        assert!(
            !x.texts().iter().any(|t| contract().is_match(t)),
            "{:?}",
            x.texts()
        );
    }

    #[test]
    fn a_failed_or_dirty_migration_is_unsafe_whenever_it_ran() {
        let mut read = flyway(vec![m(1, "41", "create orders"), m(2, "42", "add index")]);
        read.migrations[0].failed = true;
        let s = judge(&read, &during("2"), &contract());
        assert!(
            matches!(&s, Safety::Unsafe { findings } if *findings[0].danger() == Danger::Failed),
            "{s:?}"
        );
        // No cutover at all: still said.
        let t = Target {
            cutover: false,
            baseline: None,
            ..during("2")
        };
        assert_eq!(judge(&read, &t, &contract()).state(), "unsafe");
    }

    #[test]
    fn past_schema_max_is_unsafe_even_applied_before_the_cutover_and_covers_a_contract() {
        let read = flyway(vec![
            m(1, "41", "create orders"),
            m(2, "42", "drop column orders legacy"),
            m(3, "43", "add index"),
        ]);
        let t = Target {
            schema_max: Some("42"),
            ..during("3")
        };
        match judge(&read, &t, &contract()) {
            Safety::Unsafe { findings } => {
                assert_eq!(findings.len(), 1);
                assert_eq!(findings[0].migration.version, "43");
                assert_eq!(*findings[0].danger(), Danger::PastMax("42".into()));
            }
            s => panic!("{s:?}"),
        }
        // Proven on 43: the drop at 42 since the baseline 1 is covered (blue ran on it).
        let t = Target {
            schema_max: Some("43"),
            ..during("1")
        };
        assert_eq!(judge(&read, &t, &contract()).state(), "safe");
        // 1.10 is past 1.9.
        assert_eq!(compare_versions("1.10", "1.9"), Some(Ordering::Greater));
        assert_eq!(compare_versions("2", "2.0"), Some(Ordering::Equal));
        assert_eq!(compare_versions("abc", "2"), None);
    }

    #[test]
    fn a_history_that_cannot_tell_is_unknown_never_safe() {
        // golang-migrate: one row, no description.
        let one = |v: &str| SchemaRead {
            migrations: vec![Migration {
                rank: v.parse().ok(),
                version: v.into(),
                description: None,
                script: None,
                applied_at: None,
                failed: false,
            }],
            tool: "golang-migrate".into(),
        };
        assert_eq!(
            judge(&one("42"), &during("42"), &contract()).state(),
            "safe"
        );
        let s = judge(&one("43"), &during("42"), &contract());
        assert!(
            matches!(&s, Safety::Unknown { why } if why.contains("V43") && why.contains("schema-max")),
            "{s:?}"
        );
        // With blue's schema-max the answer is known either way.
        let t = Target {
            schema_max: Some("43"),
            ..during("42")
        };
        assert_eq!(judge(&one("43"), &t, &contract()).state(), "safe");
        let t = Target {
            schema_max: Some("42"),
            ..during("42")
        };
        assert_eq!(judge(&one("43"), &t, &contract()).state(), "unsafe");
        // No baseline and no times: unknown.
        let t = Target {
            baseline: None,
            since: Some(5),
            ..during("")
        };
        assert_eq!(judge(&one("43"), &t, &contract()).state(), "unknown");
        // A schema-max that is nowhere and not a number: unknown.
        let alembic = SchemaRead {
            migrations: vec![Migration {
                rank: None,
                version: "ae1027a6acf".into(),
                description: None,
                script: None,
                applied_at: None,
                failed: false,
            }],
            tool: "alembic".into(),
        };
        let t = Target {
            schema_max: Some("1975ea83b712"),
            ..during("1975ea83b712")
        };
        assert_eq!(judge(&alembic, &t, &contract()).state(), "unknown");
        let t = Target {
            schema_max: Some("ae1027a6acf"),
            ..during("1975ea83b712")
        };
        assert_eq!(judge(&alembic, &t, &contract()).state(), "safe");
    }

    #[test]
    fn without_a_baseline_the_migrations_applied_since_the_cutover_began_are_new() {
        let read = flyway(vec![
            m(1, "41", "create orders"),
            m(5, "42", "drop table x"),
        ]);
        let t = Target {
            baseline: None,
            since: Some(4_000),
            ..during("")
        };
        assert_eq!(judge(&read, &t, &contract()).state(), "unsafe");
        let t = Target {
            since: Some(6_000),
            ..t
        };
        assert_eq!(judge(&read, &t, &contract()).state(), "safe");
    }
}
