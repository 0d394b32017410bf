//! Intake latency and throughput: `POST /v0/intent_to_file/compensation`
//! from distinct veterans against the real app on loopback, with the
//! provider simulator `up` and `slow`, on SQLite and on PostgreSQL; then
//! pgbench on the same PostgreSQL with the same concurrency (one `INSERT`
//! of one row per transaction), the ceiling of what one commit per intake
//! could reach, and our share of it.
//!
//!     bench/intake [REQUESTS CONCURRENCY]
//!
//! The last line, for machines:
//! `intake: postgres requests_per_s=R pgbench_tps=T ratio=X p99_ms=P`
//! (PostgreSQL, provider up).
//!
//! PostgreSQL: ITF_TEST_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432/postgres); a database is made and
//! dropped for each run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use itf_bench::postgres::Database;
use itf_server::config::Config;
use itf_server::Application;
use sqlx::Connection;

struct Run {
    backend: &'static str,
    provider: &'static str,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

#[tokio::main]
async fn main() {
    // The app runs in this process: `bench/run`'s `--binary PATH` is not
    // needed.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers = match args.first().map(String::as_str) {
        Some("--binary") => args.get(2..).unwrap_or_default(),
        _ => &args[..],
    };
    let number = |i: usize, default: usize| {
        numbers
            .get(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (requests, concurrency) = (number(0, 1000), number(1, 16));
    let data = tempfile::tempdir().expect("a temporary folder");
    println!("intake: {requests} POSTs from distinct veterans, {concurrency} at a time, per run");
    println!("| database | provider | p50 | p95 | p99 | max | requests/s |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut ours = None;
    for backend in ["sqlite", "postgres"] {
        for provider in ["up", "slow"] {
            let run = measure(backend, provider, requests, concurrency, data.path()).await;
            print_row(&run);
            if (backend, provider) == ("postgres", "up") {
                ours = Some((run.throughput(), run.at(0.99)));
            }
        }
    }
    let (requests_per_s, p99) = ours.expect("the PostgreSQL run");
    let tps = pgbench(concurrency, data.path()).await;
    let ratio = requests_per_s / tps;
    println!();
    println!("| PostgreSQL, provider up | requests/s or tps |");
    println!("| --- | --- |");
    println!("| intake | {requests_per_s:.0} |");
    println!("| pgbench, one-row INSERT, {concurrency} clients | {tps:.0} |");
    println!("| intake / pgbench | {:.0}% |", ratio * 100.0);
    println!(
        "intake: postgres requests_per_s={requests_per_s:.0} pgbench_tps={tps:.0} ratio={ratio:.3} p99_ms={:.1}",
        p99.as_secs_f64() * 1000.0
    );
}

/// pgbench on the same server, `concurrency` clients for 15 s, each
/// transaction one `INSERT` of one row into a table with a `bigserial`
/// key, a text column and a `timestamptz` defaulting to `now()`; its tps.
async fn pgbench(concurrency: usize, data: &std::path::Path) -> f64 {
    let (url, drop_db) = database("postgres", data).await;
    let mut conn = sqlx::PgConnection::connect(&url)
        .await
        .expect("the new database answers");
    sqlx::query(
        "CREATE TABLE rows (id bigserial PRIMARY KEY, body text NOT NULL, \
         at timestamptz NOT NULL DEFAULT now())",
    )
    .execute(&mut conn)
    .await
    .expect("the table is made");
    drop(conn);
    let script = data.join("insert.sql");
    std::fs::write(&script, "INSERT INTO rows (body) VALUES ('intake');\n")
        .expect("the script is written");
    let output = tokio::process::Command::new("pgbench")
        .args([
            "-n",
            "-c",
            &concurrency.to_string(),
            "-j",
            "2",
            "-T",
            "15",
            "-f",
        ])
        .arg(&script)
        .arg(&url)
        .output()
        .await
        .expect("pgbench runs (Debian's postgresql-client)");
    drop_db.await;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "pgbench gave no tps:\n{text}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

async fn measure(
    backend: &'static str,
    provider: &'static str,
    requests: usize,
    concurrency: usize,
    data: &std::path::Path,
) -> Run {
    let (database_url, drop_db) = database(backend, data).await;
    let vars: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", database_url.clone()),
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0".to_owned()),
        ("ITF_DATA_DIR", data.display().to_string()),
    ]);
    let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("valid settings");
    let app = Application::build(config).await.expect("the app starts");
    let base = format!("http://{}", app.local_addr());
    let server = tokio::spawn(async move { app.run(std::future::pending()).await });

    let http = reqwest::Client::new();
    http.put(format!("{base}/_sim/lighthouse/mode"))
        .json(&serde_json::json!({"mode": provider, "quota_per_minute": 1_000_000}))
        .send()
        .await
        .expect("the simulator answers");

    // Signing in is set-up, not measured.
    let veterans = sign_in(&base, backend, provider, requests, concurrency).await;

    let started = Instant::now();
    let answered: Vec<(Duration, reqwest::Client)> = futures_util::stream::iter(veterans)
        .map(|client| {
            let url = format!("{base}/v0/intent_to_file/compensation");
            async move {
                let sent = Instant::now();
                let response = client.post(url).send().await.expect("an answer");
                assert_eq!(response.status(), 202, "intake must answer 202 pending");
                // The client, and so its connection, outlives the run, as a
                // veteran's browser keeps its connection after an answer.
                (sent.elapsed(), client)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let (mut latencies, clients): (Vec<Duration>, Vec<reqwest::Client>) =
        answered.into_iter().unzip();
    drop(clients);
    latencies.sort();
    server.abort();
    drop_db.await;
    Run {
        backend,
        provider,
        latencies,
        elapsed,
    }
}

/// One signed-in client per request, each a distinct `load-N` veteran; each
/// run of the table uses its own range, so runs never share a veteran.
async fn sign_in(
    base: &str,
    backend: &str,
    provider: &str,
    requests: usize,
    concurrency: usize,
) -> Vec<reqwest::Client> {
    let first = match (backend, provider) {
        ("sqlite", "up") => 1,
        ("sqlite", _) => 20_001,
        (_, "up") => 40_001,
        _ => 60_001,
    };
    futures_util::stream::iter(first..first + requests)
        .map(|n| {
            let base = base.to_owned();
            async move {
                let client = reqwest::Client::builder()
                    .cookie_store(true)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("an HTTP client");
                let user = format!("load-{n}");
                client
                    .post(format!("{base}/sign-in/mock"))
                    .form(&[("user", user.as_str())])
                    .send()
                    .await
                    .expect("sign-in");
                client
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// A fresh database, and what removes it.
async fn database(
    backend: &str,
    data: &std::path::Path,
) -> (
    String,
    std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
) {
    if backend == "sqlite" {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let url = format!("sqlite://{}/intake_{stamp}.db", data.display());
        return (url, Box::pin(async {}));
    }
    let database = Database::create("intake").await;
    (database.url.clone(), Box::pin(database.drop_now()))
}

impl Run {
    fn at(&self, q: f64) -> Duration {
        let i = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
        self.latencies[i]
    }

    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

fn print_row(run: &Run) {
    let at = |q: f64| run.at(q);
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!(
        "| {} | {} | {} | {} | {} | {} | {:.0} |",
        run.backend,
        run.provider,
        ms(at(0.50)),
        ms(at(0.95)),
        ms(at(0.99)),
        ms(*run.latencies.last().expect("at least one request")),
        run.throughput()
    );
}
