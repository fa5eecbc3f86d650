//! One run: the embedded Kinesis and DynamoDB behind fault proxies, consumer workers and
//! producers as processes, the plan carried out, then a quiet phase in which every process
//! runs without faults until every acknowledged record is consumed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kcl_fleet::journal::{self, now_ms};
use kcl_fleet::process::Process;
use kinesis_client::ClientConfig;
use kinesis_testkit::{Fault, FaultProxy, FaultRule, RuleHandle, TestEnv};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::check::{self, Observed};
use crate::picture;
use crate::plan::{self, Action, Burst, millis};
use crate::progress::Progress;
use crate::watch::TableWatch;

/// How often the driver looks at its plan and its processes.
const TICK: Duration = Duration::from_millis(100);
/// How long a graceful stop may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the quiet phase waits for the next acknowledged record to be consumed: a backlog
/// that keeps shrinking (children wait for their parents, so a lineage is read one shard after
/// another) extends it, up to [`DRAIN_CAP`].
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest the quiet phase drains a backlog that keeps shrinking.
const DRAIN_CAP: Duration = Duration::from_secs(30 * 60);
/// The KCL 3.x graceful hand-off timeout (the workers' default): a hand-off whose old owner
/// died blocks the lease until it, and the failover time, have passed.
const KCL3_HANDOFF_TIMEOUT: Duration = Duration::from_secs(30);
/// The most open shards resharding leaves.
const MAX_OPEN_SHARDS: usize = 8;
/// The fewest open shards merging leaves.
const MIN_OPEN_SHARDS: usize = 2;

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long the faults go on.
    pub seconds: u64,
    /// The seed of the plan and of every random choice.
    pub seed: u64,
    /// Where journals, logs and the report go.
    pub out: PathBuf,
    /// The `kcl-fleet` binary (workers and producers).
    pub bin: PathBuf,
    /// Consumer workers.
    pub workers: usize,
    /// Producers.
    pub producers: usize,
    /// Shards at the start.
    pub shards: u32,
    /// Records a second per producer.
    pub rate: u64,
    /// The workers' failover time.
    pub failover: Duration,
    /// The lease rules: `kcl2` or `kcl3`.
    pub protocol: String,
    /// The bound on every Rust process's resident set, in MiB.
    pub rss_bound_mib: u64,
    /// Workers that run the Java KCL instead, if any.
    pub java: Option<JavaWorkers>,
    /// Whether Kinesis is the external one the environment names (`AWS_ENDPOINT_URL_KINESIS`,
    /// kinesis-local for the Java KCL, which needs the `ChildShards` of a closed shard to end
    /// it) rather than the embedded one. The lease table is always the embedded DynamoDB.
    pub external_kinesis: bool,
}

/// The Java KCL workers of a run: the last of its worker slots run the Java KCL's harness
/// (`interop/kcl-worker`), on KCL 2.x under the `kcl2` rules and on KCL 3.x in its own mode
/// under `kcl3`, beside the Rust workers on the same lease table.
#[derive(Clone, Debug)]
pub struct JavaWorkers {
    /// How many of the worker slots run the Java KCL.
    pub count: usize,
    /// The harness's classpath (its classes and the KCL's jars).
    pub classpath: String,
    /// The Java executable.
    pub java: String,
    /// The JVM's heap bound, in MiB (`-Xmx`).
    pub heap_mib: u64,
    /// The bound on a Java worker's resident set, in MiB.
    pub rss_bound_mib: u64,
}

struct WorkerSlot {
    id: String,
    /// Whether it runs the Java KCL.
    java: bool,
    incarnation: u32,
    process: Option<Process>,
    frozen_until: Option<Instant>,
    back_at: Option<Instant>,
    new_id_next: bool,
    handler_delay_ms: u64,
}

struct ProducerSlot {
    incarnation: u32,
    process: Option<Process>,
    back_at: Option<Instant>,
}

/// A run in progress.
struct Run {
    options: Options,
    dir: PathBuf,
    env: TestEnv,
    kinesis: FaultProxy,
    dynamodb: FaultProxy,
    stream: String,
    application: String,
    workers: Vec<WorkerSlot>,
    producers: Vec<ProducerSlot>,
    rng: StdRng,
    started: Instant,
    started_ms: u64,
    /// Fault rules in force, with when they end.
    bursts: Vec<(Instant, Vec<RuleHandle>)>,
    /// What happened, for the report: (ms since the epoch, description).
    log: Vec<(u64, String)>,
    resumed: BTreeMap<String, Vec<u64>>,
    rss_kib: BTreeMap<String, u64>,
    /// Per Java worker process started, the bound on its resident set in KiB (the others
    /// have the run's bound).
    rss_bounds_kib: BTreeMap<String, u64>,
    journals: Vec<PathBuf>,
    unclean_stops: Vec<String>,
}

/// Runs `options` and returns the report (also written to `<out>/report.json`, with the
/// picture in `<out>/run.svg`).
///
/// # Errors
///
/// The servers, the stream or the processes could not be started.
pub async fn run(options: Options) -> Result<Value, String> {
    let dir = options.out.clone();
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let env = if options.external_kinesis {
        for variable in ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_CLOUDWATCH"] {
            if std::env::var_os(variable).is_some() {
                return Err(format!(
                    "{variable} is set: the lease table is the embedded DynamoDB's; unset it"
                ));
            }
        }
        if std::env::var_os("AWS_ENDPOINT_URL_KINESIS").is_none() {
            return Err(
                "an external Kinesis needs AWS_ENDPOINT_URL_KINESIS (`cargo xtask chaos` starts kinesis-local and sets it)"
                    .to_owned(),
            );
        }
        TestEnv::builder().try_start().await
    } else {
        TestEnv::builder().embedded_only().try_start().await
    }
    .map_err(|e| e.to_string())?;
    let kinesis = FaultProxy::start(env.kinesis_endpoint()).map_err(|e| e.to_string())?;
    let dynamodb = FaultProxy::start(env.dynamodb_endpoint()).map_err(|e| e.to_string())?;
    kinesis.faults().seed(options.seed);
    dynamodb.faults().seed(options.seed.wrapping_add(1));
    let stream = format!("chaos-{}", options.seed);
    let application = format!("chaos-{}-app", options.seed);
    let shards = i32::try_from(options.shards).map_err(|_| "too many shards".to_owned())?;
    env.create_stream(&stream, shards)
        .await
        .map_err(|e| format!("cannot create the stream {stream}: {e}"))?;
    // The table is read straight from the server: what the workers wrote, not what a proxy let
    // them see.
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .map_err(|e| format!("a client configuration for the lease table: {e}"))?;
    let watch = TableWatch::start(&config, &application);

    let mut rng = StdRng::seed_from_u64(options.seed ^ 0xC4A0_5EED);
    let java_from = options
        .workers
        .saturating_sub(options.java.as_ref().map_or(0, |j| j.count));
    let workers = (0..options.workers)
        .map(|i| {
            // Drawn for every slot, so that a seed names the same plan with or without Java.
            let handler_delay_ms = if rng.random_bool(0.3) {
                rng.random_range(2..10)
            } else {
                0
            };
            let java = i >= java_from;
            WorkerSlot {
                id: if java {
                    format!("j{i}")
                } else {
                    format!("w{i}")
                },
                java,
                incarnation: 0,
                process: None,
                frozen_until: None,
                back_at: None,
                new_id_next: false,
                // The Java harness has no slow handler.
                handler_delay_ms: if java { 0 } else { handler_delay_ms },
            }
        })
        .collect();
    let producers = (0..options.producers)
        .map(|_| ProducerSlot {
            incarnation: 0,
            process: None,
            back_at: None,
        })
        .collect();
    let mut run = Run {
        dir,
        env,
        kinesis,
        dynamodb,
        stream,
        application,
        workers,
        producers,
        rng,
        started: Instant::now(),
        started_ms: now_ms(),
        bursts: Vec::new(),
        log: Vec::new(),
        resumed: BTreeMap::new(),
        rss_kib: BTreeMap::new(),
        rss_bounds_kib: BTreeMap::new(),
        journals: Vec::new(),
        unclean_stops: Vec::new(),
        options,
    };
    for i in 0..run.workers.len() {
        run.start_worker(i);
    }
    for j in 0..run.producers.len() {
        run.start_producer(j);
    }

    let length = Duration::from_secs(run.options.seconds);
    let planned = plan::plan(
        run.options.seed,
        length,
        run.options.workers,
        run.options.producers,
        run.options.failover,
    );
    let plan_json: Vec<Value> = planned
        .iter()
        .map(|(at, action)| {
            let mut step = action.to_json();
            step["at_ms"] = json!(millis(*at));
            step
        })
        .collect();
    let mut plan = planned.into_iter().peekable();
    let mut last_sample = Instant::now();
    let mut progress = Progress::default();
    while run.started.elapsed() < length {
        while let Some((at, _)) = plan.peek() {
            if *at > run.started.elapsed() {
                break;
            }
            if let Some((_, action)) = plan.next() {
                run.act(&action).await;
            }
        }
        run.follow_ups();
        if last_sample.elapsed() >= Duration::from_secs(1) {
            run.sample_memory();
            progress.update(&run.journals);
            last_sample = Instant::now();
        }
        tokio::time::sleep(TICK).await;
    }

    // Quiet: no faults, every worker running, the producers asked to finish.
    let quiet_at_ms = now_ms();
    let quiet = Instant::now();
    run.note("quiet: faults removed, every process running, producers stopping".into());
    run.kinesis.faults().clear();
    run.dynamodb.faults().clear();
    run.bursts.clear();
    for i in 0..run.workers.len() {
        if run.workers[i].frozen_until.is_some() {
            run.wake(i);
        }
        if run.workers[i].process.is_none() {
            run.start_worker(i);
        }
    }
    for j in 0..run.producers.len() {
        if let Some(mut process) = run.producers[j].process.take()
            && !process.stop(STOP_TIMEOUT)
            && !journal_has(process.journal(), "done")
        {
            run.unclean_stops.push(format!(
                "producer {j} did not finish within {STOP_TIMEOUT:?}"
            ));
        }
    }
    let failover = run.options.failover;
    let owned_bound = if run.options.protocol == "kcl3" {
        failover + take_interval(failover) + KCL3_HANDOFF_TIMEOUT + failover
    } else {
        failover + take_interval(failover)
    };
    let live: Vec<String> = run.workers.iter().map(|w| w.id.clone()).collect();
    let mut owned_after_quiet = None;
    let mut drained_after_quiet = None;
    let mut deadline = quiet + owned_bound + DRAIN_TIMEOUT;
    let cap = quiet + owned_bound + DRAIN_CAP;
    progress.update(&run.journals);
    let backlog_at_quiet = progress.pending();
    let mut backlog = backlog_at_quiet;
    while Instant::now() < deadline {
        if owned_after_quiet.is_none() {
            let (at_ms, leases) = watch.latest();
            let owned = at_ms > quiet_at_ms
                && leases
                    .iter()
                    .filter(|l| !l.checkpoint.is_shard_end())
                    .all(|l| l.lease_owner.as_ref().is_some_and(|o| live.contains(o)));
            if owned {
                owned_after_quiet = Some(Duration::from_millis(at_ms - quiet_at_ms));
            }
        }
        progress.update(&run.journals);
        if drained_after_quiet.is_none() && progress.drained() {
            drained_after_quiet = Some(quiet.elapsed());
        }
        if progress.pending() < backlog {
            backlog = progress.pending();
            deadline = deadline.max((Instant::now() + DRAIN_TIMEOUT).min(cap));
        }
        if owned_after_quiet.is_some() && drained_after_quiet.is_some() {
            break;
        }
        if last_sample.elapsed() >= Duration::from_secs(1) {
            run.sample_memory();
            last_sample = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    run.note(format!(
        "quiet: every lease owned after {:?}, every acknowledged record consumed after {:?} ({} waiting when the faults stopped, {} at the end)",
        owned_after_quiet, drained_after_quiet, backlog_at_quiet, progress.pending()
    ));
    run.sample_memory();
    for i in 0..run.workers.len() {
        if let Some(mut process) = run.workers[i].process.take()
            && !process.stop(STOP_TIMEOUT)
        {
            run.unclean_stops.push(format!(
                "worker {} did not stop cleanly within {STOP_TIMEOUT:?}; see {}",
                run.workers[i].id,
                process.log().display()
            ));
        }
    }
    let ended_ms = now_ms();

    let entries: Vec<journal::Entry> = run.journals.iter().flat_map(|p| journal::read(p)).collect();
    let history = watch.history();
    let observed = Observed {
        entries,
        history: history.clone(),
        parents: watch.parents(),
        resumed: run.resumed.clone(),
        renew_interval: renew_interval(failover),
        quiet_at_ms,
        owned_after_quiet,
        owned_bound,
        rss_kib: run.rss_kib.clone(),
        rss_bound_kib: run.options.rss_bound_mib * 1024,
        rss_bounds_kib: run.rss_bounds_kib.clone(),
        unclean_stops: run.unclean_stops.clone(),
    };
    let findings = check::check(&observed);
    let (scans, failed_scans) = watch.scans();
    let report = json!({
        "seed": run.options.seed,
        "seconds": run.options.seconds,
        "workers": run.options.workers,
        "producers": run.options.producers,
        "rate_per_producer": run.options.rate,
        "shards_at_start": run.options.shards,
        "protocol": run.options.protocol,
        "java_workers": run.options.java.as_ref().map_or(0, |j| j.count),
        "kinesis": run.env.backend(kinesis_testkit::Service::Kinesis).to_string(),
        "failover_ms": millis(failover),
        "renew_interval_ms": millis(renew_interval(failover)),
        "owned_bound_ms": millis(owned_bound),
        "owned_after_quiet_ms": owned_after_quiet.map(millis),
        "drained_after_quiet_ms": drained_after_quiet.map(millis),
        "backlog_at_quiet": backlog_at_quiet,
        "duration_ms": ended_ms - run.started_ms,
        "findings": findings.to_json(),
        "summary": findings.summary(),
        "max_rss_mib": run.rss_kib.iter().map(|(k, v)| (k.clone(), v / 1024)).collect::<BTreeMap<_, _>>(),
        "kinesis_calls": run.kinesis.faults().all_calls(),
        "dynamodb_calls": run.dynamodb.faults().all_calls(),
        "lease_scans": {"made": scans, "failed": failed_scans},
        "plan": plan_json,
        "events": run.log.iter().map(|(t, what)| json!({"at_ms": t - run.started_ms, "what": what})).collect::<Vec<_>>(),
        "replay": format!("cargo xtask chaos --seconds {} --seed {}", run.options.seconds, run.options.seed),
    });
    let lag = picture::lag_per_shard(&observed.entries, run.started_ms, ended_ms);
    let title = format!(
        "chaos seed {} over {} s: {}",
        run.options.seed,
        run.options.seconds,
        findings.summary()
    );
    let svg = picture::svg(&title, &lag, &history, &run.log, run.started_ms, ended_ms);
    write(&run.dir.join("report.json"), &format!("{report:#}\n"))?;
    write(&run.dir.join("run.svg"), &svg)?;
    run.kinesis.stop();
    run.dynamodb.stop();
    run.env.shutdown().await;
    Ok(report)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The KCL's renew interval for a failover time: `failover / 3 − 25 ms`.
fn renew_interval(failover: Duration) -> Duration {
    (failover / 3).saturating_sub(Duration::from_millis(25))
}

/// The KCL's take interval for a failover time: `(failover + 25 ms) × 2`.
fn take_interval(failover: Duration) -> Duration {
    (failover + Duration::from_millis(25)) * 2
}

fn journal_has(path: &Path, event: &str) -> bool {
    journal::read(path).iter().any(|e| e.event == event)
}

impl Run {
    fn note(&mut self, what: String) {
        let at = now_ms();
        eprintln!(
            "[chaos {:>6.1}s] {what}",
            at.saturating_sub(self.started_ms) as f64 / 1000.0
        );
        self.log.push((at, what));
    }

    /// A command for the `kcl-fleet` binary, its AWS environment pointed at the proxies.
    fn command(&self) -> Command {
        self.command_for(self.options.bin.as_os_str())
    }

    /// A command for `program`, its AWS environment pointed at the proxies.
    fn command_for(&self, program: &std::ffi::OsStr) -> Command {
        let mut c = Command::new(program);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                c.env_remove(name);
            }
        }
        c.env("AWS_ENDPOINT_URL_KINESIS", self.kinesis.endpoint())
            .env("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb.endpoint())
            .env("AWS_REGION", self.env.region())
            .env("AWS_ACCESS_KEY_ID", self.env.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", "chaos")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        c
    }

    fn start_worker(&mut self, i: usize) {
        let slot = &mut self.workers[i];
        slot.incarnation += 1;
        if slot.new_id_next {
            slot.id = format!("w{i}.{}", slot.incarnation);
            slot.new_id_next = false;
        }
        let name = format!("{}#{}", slot.id, slot.incarnation);
        let journal = self.dir.join(format!("{name}.jsonl"));
        let log = self.dir.join(format!("{name}.log"));
        let java = self.options.java.as_ref().filter(|_| self.workers[i].java);
        let java_bound = java.map(|j| j.rss_bound_mib);
        let mut c = match java {
            Some(java) => {
                let mut c = self.command_for(java.java.as_ref());
                c.arg(format!("-Xmx{}m", java.heap_mib))
                    .arg("-cp")
                    .arg(&java.classpath)
                    .arg("KclWorker")
                    .args(["--kinesis-endpoint", self.kinesis.endpoint()])
                    .args(["--dynamodb-endpoint", self.dynamodb.endpoint()])
                    .args(["--region", self.env.region()])
                    .args(["--idle-millis", "200"]);
                if self.options.protocol == "kcl3" {
                    c.args(["--kcl3-mode", "3x"]);
                }
                c
            }
            None => {
                let mut c = self.command();
                c.arg("worker")
                    .args(["--protocol", &self.options.protocol])
                    .args(["--poll-millis", "200"])
                    .args([
                        "--handler-delay-millis",
                        &self.workers[i].handler_delay_ms.to_string(),
                    ]);
                c
            }
        };
        c.args(["--application", &self.application])
            .args(["--stream", &self.stream])
            .args(["--worker-id", &self.workers[i].id])
            .args([
                "--failover-millis",
                &millis(self.options.failover).to_string(),
            ])
            .args(["--checkpoint-every", "10"])
            .arg("--output")
            .arg(&journal);
        self.workers[i].process = Some(Process::spawn(&name, c, &journal, &log));
        self.workers[i].back_at = None;
        self.journals.push(journal);
        if let Some(java) = java_bound {
            self.rss_bounds_kib.insert(name.clone(), java * 1024);
        }
        let what = if self.workers[i].java {
            format!(
                "Java KCL {}",
                if self.options.protocol == "kcl3" {
                    "3.x"
                } else {
                    "2.x"
                }
            )
        } else {
            format!("handler delay {} ms", self.workers[i].handler_delay_ms)
        };
        self.note(format!("start worker {name} ({what})"));
    }

    fn start_producer(&mut self, j: usize) {
        self.producers[j].incarnation += 1;
        let prefix = format!("p{j}.{}", self.producers[j].incarnation);
        let journal = self.dir.join(format!("producer-{prefix}.jsonl"));
        let log = self.dir.join(format!("producer-{prefix}.log"));
        let mut c = self.command();
        c.arg("produce")
            .args(["--stream", &self.stream])
            .args(["--count", "1000000000"])
            .args(["--keys", "16"])
            .args(["--prefix", &prefix])
            .args(["--rate", &self.options.rate.to_string()])
            .args([
                "--aggregate",
                if j.is_multiple_of(2) { "true" } else { "false" },
            ])
            .arg("--output")
            .arg(&journal);
        self.producers[j].process = Some(Process::spawn(&prefix, c, &journal, &log));
        self.producers[j].back_at = None;
        self.journals.push(journal);
        self.note(format!("start producer {prefix}"));
    }

    fn running_workers(&self) -> usize {
        self.workers
            .iter()
            .filter(|w| w.process.is_some() && w.frozen_until.is_none())
            .count()
    }

    /// Whether worker `i` runs, unfrozen, and is not the last one that does.
    fn can_take_down(&self, i: usize) -> bool {
        let w = &self.workers[i];
        w.process.is_some() && w.frozen_until.is_none() && self.running_workers() > 1
    }

    async fn act(&mut self, action: &Action) {
        match action {
            Action::KillWorker {
                worker,
                down,
                new_id,
            } => {
                if !self.can_take_down(*worker) {
                    self.note(format!(
                        "skip kill of worker slot {worker}: not running alone or at all"
                    ));
                    return;
                }
                let slot = &mut self.workers[*worker];
                if let Some(mut p) = slot.process.take() {
                    p.kill();
                }
                slot.back_at = Some(Instant::now() + *down);
                slot.new_id_next = *new_id;
                let id = slot.id.clone();
                self.note(format!(
                    "SIGKILL worker {id}; back in {} ms{}",
                    millis(*down),
                    if *new_id { " with a new id" } else { "" }
                ));
            }
            Action::FreezeWorker { worker, frozen } => {
                if !self.can_take_down(*worker) {
                    self.note(format!("skip freeze of worker slot {worker}"));
                    return;
                }
                let slot = &mut self.workers[*worker];
                if slot.process.as_ref().is_some_and(Process::pause) {
                    slot.frozen_until = Some(Instant::now() + *frozen);
                    let id = slot.id.clone();
                    self.note(format!("SIGSTOP worker {id} for {} ms", millis(*frozen)));
                }
            }
            Action::RestartWorker { worker } => {
                let slot = &mut self.workers[*worker];
                if slot.process.is_none() || slot.frozen_until.is_some() {
                    self.note(format!("skip restart of worker slot {worker}"));
                    return;
                }
                let id = slot.id.clone();
                if let Some(mut p) = slot.process.take() {
                    let clean = p.stop(STOP_TIMEOUT);
                    if !clean {
                        self.unclean_stops.push(format!(
                            "worker {id} did not stop cleanly within {STOP_TIMEOUT:?}; see {}",
                            p.log().display()
                        ));
                    }
                    self.note(format!("graceful stop of worker {id} (clean: {clean})"));
                }
                self.start_worker(*worker);
            }
            Action::KillProducer { producer, down } => {
                let slot = &mut self.producers[*producer];
                let Some(mut p) = slot.process.take() else {
                    return;
                };
                p.kill();
                slot.back_at = Some(Instant::now() + *down);
                self.note(format!(
                    "SIGKILL producer {producer}; back in {} ms",
                    millis(*down)
                ));
            }
            Action::Split => self.split().await,
            Action::Merge => self.merge().await,
            Action::Faults { burst, lasting } => {
                let rules = self.burst(*burst);
                self.bursts.push((Instant::now() + *lasting, rules));
                self.note(format!(
                    "faults {} for {} ms",
                    burst.name(),
                    millis(*lasting)
                ));
            }
        }
    }

    /// Restarts, wake-ups and ends of bursts that are due.
    fn follow_ups(&mut self) {
        let now = Instant::now();
        for i in 0..self.workers.len() {
            if self.workers[i].back_at.is_some_and(|t| t <= now) {
                self.start_worker(i);
            }
            if self.workers[i].frozen_until.is_some_and(|t| t <= now) {
                self.wake(i);
            }
        }
        for j in 0..self.producers.len() {
            if self.producers[j].back_at.is_some_and(|t| t <= now) {
                self.start_producer(j);
            }
        }
        let (ended, going): (Vec<_>, Vec<_>) = std::mem::take(&mut self.bursts)
            .into_iter()
            .partition(|(end, _)| *end <= now);
        self.bursts = going;
        for (_, rules) in ended {
            for rule in &rules {
                rule.remove();
            }
            self.note(format!("faults end ({} rules)", rules.len()));
        }
    }

    fn wake(&mut self, i: usize) {
        let slot = &mut self.workers[i];
        slot.frozen_until = None;
        // Taken before the signal: the worker may write its first lines before `kill` returns.
        let woke = now_ms();
        if slot.process.as_ref().is_some_and(Process::resume) {
            let id = slot.id.clone();
            self.resumed.entry(id.clone()).or_default().push(woke);
            self.note(format!("SIGCONT worker {id}"));
        }
    }

    fn burst(&self, burst: Burst) -> Vec<RuleHandle> {
        let k = self.kinesis.faults();
        let d = self.dynamodb.faults();
        match burst {
            Burst::KinesisThrottling => vec![
                k.add(FaultRule::new("GetRecords", Fault::throttle()).with_probability(0.5)),
                k.add(FaultRule::new("PutRecords", Fault::partial_failure(0.2))),
            ],
            Burst::KinesisErrors => vec![
                k.add(FaultRule::any_operation(Fault::internal_failure()).with_probability(0.15)),
                k.add(FaultRule::any_operation(Fault::drop_connection()).with_probability(0.15)),
                k.add(FaultRule::any_operation(Fault::answer_lost()).with_probability(0.05)),
            ],
            Burst::DynamoDbFaults => vec![
                d.add(FaultRule::new("UpdateItem", Fault::answer_lost()).with_probability(0.2)),
                d.add(
                    FaultRule::new("UpdateItem", Fault::timeout(Duration::from_secs(2)))
                        .with_probability(0.1),
                ),
                d.add(FaultRule::new("PutItem", Fault::answer_lost()).with_probability(0.2)),
                d.add(
                    FaultRule::new(
                        "Scan",
                        Fault::service_error(
                            400,
                            "ProvisionedThroughputExceededException",
                            "The level of configured provisioned throughput for the table was exceeded (injected).",
                        ),
                    )
                    .with_probability(0.3),
                ),
            ],
            Burst::Latency => vec![
                k.add(FaultRule::any_operation(Fault::latency(Duration::from_millis(300)))),
                d.add(FaultRule::any_operation(Fault::latency(Duration::from_millis(300)))),
            ],
        }
    }

    /// The open shards, by starting hash key: (id, start, end).
    async fn open_shards(&self) -> Vec<(String, u128, u128)> {
        let Ok(answer) = self
            .env
            .kinesis_sdk()
            .list_shards()
            .stream_name(&self.stream)
            .send()
            .await
        else {
            return Vec::new();
        };
        let mut open: Vec<(String, u128, u128)> = answer
            .shards()
            .iter()
            .filter(|s| {
                s.sequence_number_range()
                    .is_some_and(|r| r.ending_sequence_number().is_none())
            })
            .filter_map(|s| {
                let range = s.hash_key_range()?;
                Some((
                    s.shard_id().to_owned(),
                    range.starting_hash_key().parse().ok()?,
                    range.ending_hash_key().parse().ok()?,
                ))
            })
            .collect();
        open.sort_by_key(|(_, start, _)| *start);
        open
    }

    async fn split(&mut self) {
        let open = self.open_shards().await;
        if open.is_empty() || open.len() >= MAX_OPEN_SHARDS {
            self.note(format!("skip split: {} open shards", open.len()));
            return;
        }
        let (shard, start, end) = open[self.rng.random_range(0..open.len())].clone();
        let at = start + (end - start) / 2 + 1;
        let outcome = self
            .env
            .kinesis_sdk()
            .split_shard()
            .stream_name(&self.stream)
            .shard_to_split(&shard)
            .new_starting_hash_key(at.to_string())
            .send()
            .await;
        let waited = self.env.wait_for_stream_active(&self.stream).await;
        self.note(format!(
            "split {shard} at {at}: {}",
            describe(outcome.map(|_| ()).map_err(|e| format!("{e:?}")), waited)
        ));
    }

    async fn merge(&mut self) {
        let open = self.open_shards().await;
        let pairs: Vec<usize> = (0..open.len().saturating_sub(1))
            .filter(|i| open[*i].2 + 1 == open[i + 1].1)
            .collect();
        if open.len() <= MIN_OPEN_SHARDS || pairs.is_empty() {
            self.note(format!("skip merge: {} open shards", open.len()));
            return;
        }
        let i = pairs[self.rng.random_range(0..pairs.len())];
        let (a, b) = (open[i].0.clone(), open[i + 1].0.clone());
        let outcome = self
            .env
            .kinesis_sdk()
            .merge_shards()
            .stream_name(&self.stream)
            .shard_to_merge(&a)
            .adjacent_shard_to_merge(&b)
            .send()
            .await;
        let waited = self.env.wait_for_stream_active(&self.stream).await;
        self.note(format!(
            "merge {a} and {b}: {}",
            describe(outcome.map(|_| ()).map_err(|e| format!("{e:?}")), waited)
        ));
    }

    /// Samples every running process's resident set.
    fn sample_memory(&mut self) {
        let processes = self
            .workers
            .iter()
            .filter_map(|w| w.process.as_ref())
            .chain(self.producers.iter().filter_map(|p| p.process.as_ref()));
        for p in processes {
            if let Some(kib) = p.pid().and_then(rss_kib) {
                let max = self.rss_kib.entry(p.name().to_owned()).or_default();
                *max = (*max).max(kib);
            }
        }
    }
}

fn describe<E: std::fmt::Display>(call: Result<(), String>, waited: Result<(), E>) -> String {
    match (call, waited) {
        (Ok(()), Ok(())) => "done".into(),
        (Err(e), _) => format!("refused: {e}"),
        (Ok(()), Err(e)) => format!("not active again: {e}"),
    }
}

/// The resident set of process `pid` in KiB, from `/proc`.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
