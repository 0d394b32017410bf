//! Memory with a backlog: for 1,000, 10,000 and 100,000 requests queued
//! through a web-only instance (so that no job was tried before), the
//! resident memory of that instance once they are queued, and of one worker
//! instance while it drains them against the simulator, the provider's
//! quota at its largest, each size on a throwaway PostgreSQL cluster of its
//! own.
//!
//!     bench/backlog [--sizes 1000,10000,100000]
//!
//! The last line is for machines, the worker's peak while draining:
//! `backlog: rss_mb_1k=A rss_mb_10k=B rss_mb_100k=C`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use itf_bench::cluster::Cluster;
use itf_bench::fleet::{queue, rss_mb, Instance, Simulator};
use itf_server::config::MAX_QUOTA_PER_MINUTE;
use sqlx::postgres::PgPoolOptions;

struct Args {
    sizes: Vec<usize>,
    binary: PathBuf,
}

fn args() -> Args {
    let mut args = Args {
        sizes: vec![1_000, 10_000, 100_000],
        binary: PathBuf::from("target/release/itf-async"),
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given.next().unwrap_or_default();
        match flag.as_str() {
            "--sizes" => {
                args.sizes = value
                    .split(',')
                    .map(|n| n.trim().parse().expect("--sizes N,N,N"))
                    .collect();
            }
            "--binary" => args.binary = PathBuf::from(value),
            other => panic!("unknown argument {other}; use --sizes N,N,N"),
        }
    }
    args
}

/// One size's figures.
struct Run {
    size: usize,
    queued: usize,
    web_mb: f64,
    worker_start_mb: f64,
    worker_peak_mb: f64,
    drained: usize,
    drain: Duration,
}

#[tokio::main]
async fn main() {
    let args = args();
    println!(
        "backlog: requests queued through a web-only instance, then drained by one worker \
         instance (resident memory, MB)"
    );
    println!("| queued | web instance, all queued | worker at start | worker peak while draining | drained | drain | ITFs/s |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut peaks = Vec::new();
    for &size in &args.sizes {
        let run = measure(&args.binary, size).await;
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {} | {:.1} s | {:.0} |",
            run.queued,
            run.web_mb,
            run.worker_start_mb,
            run.worker_peak_mb,
            run.drained,
            run.drain.as_secs_f64(),
            run.drained as f64 / run.drain.as_secs_f64()
        );
        peaks.push(format!(
            "rss_mb_{}={:.1}",
            label(run.size),
            run.worker_peak_mb
        ));
    }
    println!("backlog: {}", peaks.join(" "));
}

/// 1000 → `1k`.
fn label(size: usize) -> String {
    if size.is_multiple_of(1000) {
        format!("{}k", size / 1000)
    } else {
        size.to_string()
    }
}

async fn measure(binary: &Path, size: usize) -> Run {
    let data = tempfile::tempdir().expect("a temporary folder");
    let http = reqwest::Client::new();
    let cluster = Cluster::start();
    let simulator = Simulator::start(binary, data.path(), &http, MAX_QUOTA_PER_MINUTE).await;
    let settings = |role: &str| {
        [
            ("DATABASE_URL", cluster.url()),
            ("LIGHTHOUSE_BASE_URL", simulator.base.clone()),
            ("ITF_DATA_DIR", data.path().display().to_string()),
            ("ITF_ROLE", role.to_owned()),
            (
                "LIGHTHOUSE_QUOTA_PER_MINUTE",
                MAX_QUOTA_PER_MINUTE.to_string(),
            ),
            ("RUST_LOG", "error".to_owned()),
        ]
        .map(|(key, value)| (key.to_owned(), value))
        .to_vec()
    };
    let mut web = Instance::new(binary, settings("web"));
    web.start_ready(&http).await;
    let queued = queue(&web.base, 1, size).await;
    let web_mb = web.pid().and_then(rss_mb).unwrap_or(0.0);

    let mut worker = Instance::new(binary, settings("worker"));
    let started = Instant::now();
    worker.start();
    let watched = watch_drain(&worker, &cluster, queued, started).await;
    Run {
        size,
        queued,
        web_mb,
        worker_start_mb: watched.start_mb,
        worker_peak_mb: watched.peak_mb,
        drained: watched.drained,
        drain: started.elapsed(),
    }
}

/// What watching a worker drain saw.
struct Watched {
    start_mb: f64,
    peak_mb: f64,
    drained: usize,
}

/// Samples the worker's memory every 100 ms until `queued` requests are
/// active, or a deadline that grows with the backlog.
async fn watch_drain(
    worker: &Instance,
    cluster: &Cluster,
    queued: usize,
    started: Instant,
) -> Watched {
    let pid = worker.pid().expect("the worker runs");
    let db = PgPoolOptions::new()
        .max_connections(1)
        .connect(&cluster.url())
        .await
        .expect("the cluster answers");
    let deadline = started + Duration::from_secs(120) + Duration::from_millis(queued as u64 * 10);
    let mut start_mb = None;
    let mut peak_mb: f64 = 0.0;
    let mut drained = 0;
    while Instant::now() < deadline {
        let rss = rss_mb(pid).unwrap_or(0.0);
        start_mb.get_or_insert(rss);
        peak_mb = peak_mb.max(rss);
        let (active,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM itf_requests WHERE state = 'active'")
                .fetch_one(&db)
                .await
                .expect("the count");
        drained = usize::try_from(active).unwrap_or(0);
        if drained >= queued {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Watched {
        start_mb: start_mb.unwrap_or(0.0),
        peak_mb,
        drained,
    }
}
