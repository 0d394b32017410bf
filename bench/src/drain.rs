//! The drain of a backlog, beside the job queues people already use: N
//! requests queued through a web-only instance (so that no job was tried
//! before), then drained by one worker instance against the standalone
//! simulator with an unlimited quota; then graphile-worker and pg-boss
//! (bench/peers, installed from npm by `bench/drain`) draining N jobs each
//! whose handler makes the same token fetch, GET and POST against the same
//! simulator, with the same concurrency, each on a database of its own on
//! the same PostgreSQL server. Every system gets veterans of its own, so
//! each finds none with an ITF.
//!
//!     bench/drain [N] [--concurrency C]
//!
//! The last line, for machines, in ITFs per second:
//! `drain: ours=A graphile_worker=B pg_boss=C`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use itf_bench::fleet::{queue, rss_mb, Instance, Simulator};
use itf_bench::postgres::Database;
use itf_server::config::MAX_QUOTA_PER_MINUTE;
use itf_server::development::{DevelopmentKey, SIMULATOR_CLIENT_ID};
use sqlx::postgres::PgPoolOptions;

struct Args {
    requests: usize,
    concurrency: usize,
    binary: PathBuf,
}

fn args() -> Args {
    let mut args = Args {
        requests: 3000,
        concurrency: 16,
        binary: PathBuf::from("target/release/itf-async"),
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--concurrency" => {
                args.concurrency = given
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--concurrency C, a whole number");
            }
            "--binary" => args.binary = given.next().expect("--binary PATH").into(),
            n => args.requests = n.parse().expect("N, the requests to drain"),
        }
    }
    assert!(
        args.requests * 3 <= itf_app::development::LOAD_USERS as usize,
        "N may be at most a third of the load-test veterans"
    );
    args
}

/// One system's drain.
struct Drained {
    system: &'static str,
    itfs: usize,
    seconds: f64,
    peak_rss_mb: f64,
    /// The first of the `load-N` veterans it worked for.
    first: usize,
}

#[tokio::main]
async fn main() {
    let args = args();
    let data = tempfile::tempdir().expect("a temporary folder");
    let http = reqwest::Client::new();
    let simulator = Simulator::start(&args.binary, data.path(), &http, MAX_QUOTA_PER_MINUTE).await;
    http.put(format!("{}/mode", simulator.base))
        .json(&serde_json::json!({"mode": "up", "quota_per_minute": u32::MAX}))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("the simulator takes an unlimited quota");
    let (n, c) = (args.requests, args.concurrency);
    println!("drain: {n} requests, {c} at a time, one worker process each, simulator instant");
    let ours = drain_ours(&args, &simulator, data.path()).await;
    let mut runs = vec![ours];
    for (script, system) in [
        ("graphile-worker.mjs", "graphile_worker"),
        ("pg-boss.mjs", "pg_boss"),
    ] {
        let first = 1 + runs.len() * n;
        runs.push(drain_peer(script, system, first, &args, &simulator, data.path()).await);
    }
    let ledger: serde_json::Value = http
        .get(format!("{}/ledger", simulator.base))
        .send()
        .await
        .expect("the simulator answers")
        .json()
        .await
        .expect("the ledger");
    report(&runs, &ledger, n);
}

fn report(runs: &[Drained], ledger: &serde_json::Value, n: usize) {
    println!("| system | ITFs | drain | ITFs/s | provider calls per ITF | veterans with two ITFs | peak RSS |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut last = Vec::new();
    for run in runs {
        let (calls, twice) = ledger_of(ledger, run.first, n);
        let rate = run.itfs as f64 / run.seconds;
        println!(
            "| {} | {} | {:.2} s | {:.0} | {:.2} | {} | {:.1} MB |",
            run.system,
            run.itfs,
            run.seconds,
            rate,
            calls as f64 / run.itfs.max(1) as f64,
            twice,
            run.peak_rss_mb
        );
        let label = if run.system == "ITF Async" {
            "ours"
        } else {
            run.system
        };
        last.push(format!("{label}={rate:.0}"));
    }
    println!("drain: {}", last.join(" "));
}

/// The GETs and POSTs the simulator saw for veterans `load-{first}` to
/// `load-{first + n - 1}`, and how many of them hold more than one ITF.
fn ledger_of(ledger: &serde_json::Value, first: usize, n: usize) -> (u64, usize) {
    let mut calls = 0;
    let mut twice = 0;
    let veterans = ledger["veterans"].as_array().into_iter().flatten();
    for veteran in veterans {
        let number = veteran["user"]
            .as_str()
            .and_then(|user| user.strip_prefix("load-"))
            .and_then(|n| n.parse::<usize>().ok());
        if !number.is_some_and(|number| (first..first + n).contains(&number)) {
            continue;
        }
        calls += veteran["gets"].as_u64().unwrap_or(0) + veteran["posts"].as_u64().unwrap_or(0);
        if veteran["itfs"].as_array().map_or(0, Vec::len) > 1 {
            twice += 1;
        }
    }
    (calls, twice)
}

/// Queues `load-1` … `load-N` through a web-only instance, then times one
/// worker instance from its start until every request is active.
async fn drain_ours(args: &Args, simulator: &Simulator, data: &Path) -> Drained {
    let http = reqwest::Client::new();
    let database = Database::create("drain").await;
    let settings = |role: &str| {
        [
            ("DATABASE_URL", database.url.clone()),
            ("LIGHTHOUSE_BASE_URL", simulator.base.clone()),
            ("ITF_DATA_DIR", data.display().to_string()),
            ("ITF_ROLE", role.to_owned()),
            ("ITF_WORKER_CONCURRENCY", args.concurrency.to_string()),
            ("LIGHTHOUSE_QUOTA_PER_MINUTE", "unlimited".to_owned()),
            ("RUST_LOG", "error".to_owned()),
        ]
        .map(|(key, value)| (key.to_owned(), value))
        .to_vec()
    };
    let mut web = Instance::new(&args.binary, settings("web"));
    web.start_ready(&http).await;
    let queued = queue(&web.base, 1, args.requests).await;
    assert_eq!(queued, args.requests, "every request is queued");
    web.kill();
    let db = PgPoolOptions::new()
        .max_connections(1)
        .connect(&database.url)
        .await
        .expect("the database answers");
    let mut worker = Instance::new(&args.binary, settings("worker"));
    let started = Instant::now();
    worker.start();
    let pid = worker.pid().expect("the worker runs");
    let peak_rss_mb = watch_open_jobs(&db, pid, queued, started).await;
    let seconds = started.elapsed().as_secs_f64();
    let (active,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM itf_requests WHERE state = 'active'")
            .fetch_one(&db)
            .await
            .expect("the count");
    let itfs = usize::try_from(active).unwrap_or(0);
    worker.kill();
    db.close().await;
    database.drop_now().await;
    Drained {
        system: "ITF Async",
        itfs,
        seconds,
        peak_rss_mb,
        first: 1,
    }
}

/// Waits until no job is open, or a deadline that grows with the backlog;
/// returns the worker's peak resident memory meanwhile.
async fn watch_open_jobs(db: &sqlx::PgPool, pid: u32, queued: usize, started: Instant) -> f64 {
    let deadline = started + Duration::from_secs(120) + Duration::from_millis(queued as u64 * 20);
    let mut peak_rss_mb = 0.0_f64;
    // Open jobs are counted through their partial index, as cheaply as the
    // peers count theirs.
    let mut open = queued;
    while open > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        peak_rss_mb = peak_rss_mb.max(rss_mb(pid).unwrap_or(0.0));
        let (count,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')")
                .fetch_one(db)
                .await
                .expect("the count");
        open = usize::try_from(count).unwrap_or(0);
    }
    peak_rss_mb
}

/// Runs one peer's script (bench/peers) on a database of its own, for
/// veterans `load-{first}` on; it prints one JSON line of figures.
async fn drain_peer(
    script: &str,
    system: &'static str,
    first: usize,
    args: &Args,
    simulator: &Simulator,
    data: &Path,
) -> Drained {
    let database = Database::create(system).await;
    let icns: Vec<String> = (first..first + args.requests)
        .map(|n| {
            let veteran = itf_app::development::test_veteran(&format!("load-{n}"))
                .expect("load-test veterans go up to LOAD_USERS");
            veteran.icn.expose().to_owned()
        })
        .collect();
    let icns_file = data.join(format!("{system}-icns.json"));
    std::fs::write(&icns_file, serde_json::to_vec(&icns).expect("JSON")).expect("written");
    let key = DevelopmentKey::load_or_create(data).expect("the simulator's key");
    let key_file = data.join("peers-key.pem");
    std::fs::write(&key_file, &key.private_pem).expect("written");
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers");
    let output = tokio::process::Command::new("node")
        .arg(peers.join(script))
        .env("DATABASE_URL", &database.url)
        .env("LIGHTHOUSE_BASE_URL", &simulator.base)
        .env("LIGHTHOUSE_KEY_FILE", &key_file)
        .env("LIGHTHOUSE_CLIENT_ID", SIMULATOR_CLIENT_ID)
        .env("DRAIN_CONCURRENCY", args.concurrency.to_string())
        .env("DRAIN_ICNS_FILE", &icns_file)
        .output()
        .await
        .expect("node runs (bench/drain installs the peers)");
    database.drop_now().await;
    let text = String::from_utf8_lossy(&output.stdout);
    let figures: serde_json::Value = text
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| {
            panic!(
                "{script} gave no figures:\n{text}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    Drained {
        system,
        itfs: figures["jobs"].as_u64().unwrap_or(0) as usize,
        seconds: figures["seconds"].as_f64().unwrap_or(f64::NAN),
        peak_rss_mb: figures["peak_rss_mb"].as_f64().unwrap_or(0.0),
        first,
    }
}
