//! The provider budget against a backlog: N requests queued through a
//! web-only instance, then drained by two worker instances, the simulator
//! and the app both at Q calls a minute, on a throwaway PostgreSQL cluster.
//! Prints the drain time against the ideal (the calls made at the worker's
//! share of the quota), the 429s the instances saw, and provider calls per
//! confirmed ITF.
//!
//!     bench/quota [--requests N] [--quota Q]
//!
//! The last line is for machines:
//! `quota: requests=N active=A drain_s=D ideal_s=I ratio=R throttled=T calls_per_itf=C`;
//! the exit status is non-zero when a request did not drain, the provider
//! refused a call, or the drain took more than 10% longer than the ideal.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use itf_bench::cluster::Cluster;
use itf_bench::fleet::{queue, Instance, Simulator};
use itf_server::budget::worker_share;
use itf_server::config::BudgetSettings;
use serde_json::Value;
use sqlx::postgres::PgPoolOptions;

/// Lighthouse's default share held back for people, as the app's default.
const RESERVED_PERCENT: u32 = 10;

struct Args {
    requests: usize,
    quota: u32,
    binary: PathBuf,
}

fn args() -> Args {
    let mut args = Args {
        requests: 1000,
        quota: 600,
        binary: PathBuf::from("target/release/itf-async"),
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given.next().unwrap_or_default();
        match flag.as_str() {
            "--requests" => args.requests = value.parse().expect("--requests N"),
            "--quota" => args.quota = value.parse().expect("--quota Q"),
            "--binary" => args.binary = PathBuf::from(value),
            other => panic!("unknown argument {other}; use --requests N --quota Q"),
        }
    }
    assert!(args.quota >= 3, "--quota must be at least 3");
    args
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = args();
    let data = tempfile::tempdir().expect("a temporary folder");
    let http = reqwest::Client::new();
    let cluster = Cluster::start();
    let simulator = Simulator::start(&args.binary, data.path(), &http, args.quota).await;
    let settings = |role: &str| {
        [
            ("DATABASE_URL", cluster.url()),
            ("LIGHTHOUSE_BASE_URL", simulator.base.clone()),
            ("ITF_DATA_DIR", data.path().display().to_string()),
            ("ITF_ROLE", role.to_owned()),
            ("LIGHTHOUSE_QUOTA_PER_MINUTE", args.quota.to_string()),
            (
                "LIGHTHOUSE_QUOTA_RESERVED_PERCENT",
                RESERVED_PERCENT.to_string(),
            ),
            ("RUST_LOG", "error".to_owned()),
        ]
        .map(|(key, value)| (key.to_owned(), value))
        .to_vec()
    };
    let mut web = Instance::new(&args.binary, settings("web"));
    web.start_ready(&http).await;
    let queued = queue(&web.base, 80_001, args.requests).await;
    assert_eq!(queued, args.requests, "every request is queued");

    let started = Instant::now();
    let mut workers: Vec<Instance> = (0..2)
        .map(|_| Instance::new(&args.binary, settings("worker")))
        .collect();
    for worker in &mut workers {
        worker.start();
    }
    let deadline = Duration::from_secs(600) + ideal(args.requests as f64 * 2.0, args.quota) * 3;
    let active = drain(&cluster, args.requests, started + deadline).await;
    let drain = started.elapsed();
    let mut throttled = 0;
    for worker in &workers {
        throttled += too_many_requests(&http, &worker.base).await;
    }
    // The simulator's ledger holds the calls it answered; those it refused
    // for the quota count as calls made too.
    let calls = answered(&http, &simulator).await + usize::try_from(throttled).unwrap_or(0);
    report(&args, active, drain, throttled, calls)
}

/// Waits until `requests` requests are active, or `deadline`; returns how
/// many are.
async fn drain(cluster: &Cluster, requests: usize, deadline: Instant) -> usize {
    let db = PgPoolOptions::new()
        .max_connections(1)
        .connect(&cluster.url())
        .await
        .expect("the cluster answers");
    loop {
        let (count,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM itf_requests WHERE state = 'active'")
                .fetch_one(&db)
                .await
                .expect("the count");
        let active = usize::try_from(count).unwrap_or(0);
        if active == requests || Instant::now() > deadline {
            return active;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The calls the simulator answered.
async fn answered(http: &reqwest::Client, simulator: &Simulator) -> usize {
    let ledger: Value = http
        .get(format!("{}/ledger", simulator.base))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("the ledger")
        .json()
        .await
        .expect("the ledger reads");
    ledger["calls"].as_array().map_or(0, Vec::len)
}

fn report(args: &Args, active: usize, drain: Duration, throttled: u64, calls: usize) -> ExitCode {
    let ideal = ideal(calls as f64, args.quota);
    let ratio = drain.as_secs_f64() / ideal.as_secs_f64();
    let per_itf = calls as f64 / active.max(1) as f64;
    let share = worker_share(budget(args.quota));
    println!(
        "quota: {} requests queued through a web-only instance, drained by two; \
         {} calls a minute, the worker's share {share}",
        args.requests, args.quota
    );
    println!("| requests | active | drain | ideal | drain / ideal | 429s | provider calls | provider calls per ITF |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| {} | {active} | {:.1} s | {:.1} s | {ratio:.3} | {throttled} | {calls} | {per_itf:.2} |",
        args.requests,
        drain.as_secs_f64(),
        ideal.as_secs_f64()
    );
    println!(
        "quota: requests={} active={active} drain_s={:.1} ideal_s={:.1} ratio={ratio:.3} \
         throttled={throttled} calls_per_itf={per_itf:.2}",
        args.requests,
        drain.as_secs_f64(),
        ideal.as_secs_f64()
    );
    if active == args.requests && throttled == 0 && ratio <= 1.10 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn budget(quota: u32) -> BudgetSettings {
    BudgetSettings {
        quota_per_minute: quota,
        reserved_percent: RESERVED_PERCENT,
    }
}

/// How long `calls` take at the worker's share of the quota.
fn ideal(calls: f64, quota: u32) -> Duration {
    let share = f64::from(worker_share(budget(quota)));
    Duration::from_secs_f64(calls * 60.0 / share)
}

/// The 429s an instance saw, from its metrics.
async fn too_many_requests(http: &reqwest::Client, base: &str) -> u64 {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("the metrics")
        .text()
        .await
        .expect("the metrics read");
    text.lines()
        .filter(|line| {
            line.starts_with("itf_provider_budget_corrections_total")
                && line.contains("too_many_requests")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
