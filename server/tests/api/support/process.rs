//! The `itf-async` binary as operators run it: a process of its own,
//! configured through its environment.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use itf_app::development::test_veteran;
use itf_app::domain::ItfType;
use itf_server::store::RequestState;
use reqwest::StatusCode;

pub struct AppProcess {
    pub child: Child,
    pub base: String,
}

impl AppProcess {
    /// `itf-async serve` on a port it picks itself, with `env` on top of a
    /// database and the shared data folder; its output goes to `output`
    /// (or nowhere). Returns once it is ready.
    ///
    /// The instance binds port 0 and the address is read from what it
    /// prints: a port chosen here and released before the instance binds
    /// it could be taken by another test's instance meanwhile, and this
    /// instance's readiness answered by that one.
    pub async fn start(database_url: &str, env: &[(&str, &str)], output: Option<&Path>) -> Self {
        let file = output.map(|path| std::fs::File::create(path).expect("an output file"));
        let stderr = match &file {
            Some(file) => Stdio::from(file.try_clone().expect("the file again")),
            None => Stdio::null(),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_itf-async"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("ITF_DATA_DIR", super::data_dir())
            .env("ITF_CIRCUIT_FAILURES", super::CIRCUIT_OFF.to_string())
            .env("LIGHTHOUSE_QUOTA_PER_MINUTE", super::QUOTA_OFF.to_string())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("a piped stdout");
        let address = forward_until_listening(stdout, file);
        let base = tokio::time::timeout(Duration::from_secs(30), address)
            .await
            .expect("the app prints its address within 30 s")
            .expect("the app prints its address before it ends");
        let app = Self { child, base };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(response) = reqwest::get(format!("{}/readyz", app.base)).await {
                if response.status() == StatusCode::OK {
                    return app;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the app did not become ready");
    }

    /// Against a standalone simulator, with short provider timeouts and
    /// retries, logging warnings only.
    pub async fn against_simulator(database_url: &str, simulator: &str) -> Self {
        Self::start(
            database_url,
            &[
                ("LIGHTHOUSE_BASE_URL", simulator),
                ("LIGHTHOUSE_TIMEOUT_MS", "1000"),
                ("ITF_RETRY_MAX_DELAY", "2"),
                ("RUST_LOG", "warn"),
            ],
            None,
        )
        .await
    }

    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        self.child.wait().expect("the process is reaped");
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies the instance's standard output to `file` (or nowhere) on a
/// thread of its own; the returned receiver gets the base URL the instance
/// says it listens at.
fn forward_until_listening(
    stdout: std::process::ChildStdout,
    mut file: Option<std::fs::File>,
) -> tokio::sync::oneshot::Receiver<String> {
    use std::io::{BufRead, Write};
    let (found, address) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(file) = &mut file {
                let _ = writeln!(file, "{line}");
            }
            if let Some(base) = line.strip_prefix("ITF Async is running at ") {
                if let Some(found) = found.take() {
                    let _ = found.send(base.trim().to_owned());
                }
            }
        }
    });
    address
}

/// Each veteran's compensation ITFs at the simulator, and POSTs made for them.
pub async fn by_user(
    simulator: &super::provider::Rig,
) -> std::collections::HashMap<String, (usize, u64)> {
    simulator.ledger().await["veterans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["type"] == "compensation")
        .map(|v| {
            (
                v["user"].as_str().unwrap().to_owned(),
                (
                    v["itfs"].as_array().unwrap().len(),
                    v["posts"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

/// Signs `user` in at `app` and asks for a compensation ITF; 202 expected.
pub async fn request_itf(app: &str, user: &str) {
    let client = super::client();
    let signed_in = client
        .post(format!("{app}/sign-in/mock"))
        .form(&[("user", user)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let answer = client
        .post(format!("{app}/v0/intent_to_file/compensation"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{user}");
}

/// Waits until every user's compensation request is active in `store`;
/// a store that does not answer yet (restarting) counts as not yet.
pub async fn wait_until_all_active(
    store: &std::sync::Arc<dyn itf_server::store::Store>,
    users: &[String],
    within: Duration,
) {
    let started = Instant::now();
    loop {
        let mut pending = 0;
        for user in users {
            let icn = test_veteran(user).unwrap().icn;
            let request = store.latest_request(&icn, ItfType::Compensation).await;
            if request.ok().flatten().map(|r| r.state) != Some(RequestState::Active) {
                pending += 1;
            }
        }
        if pending == 0 {
            return;
        }
        assert!(
            started.elapsed() < within,
            "{pending} requests not active after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
