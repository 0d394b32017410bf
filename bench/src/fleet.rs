//! The processes of a benchmark run: a standalone simulator and app
//! instances, each an `itf-async` process of its own that the run may kill,
//! stop and start again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Waits until `url` answers 200.
pub async fn wait_ready(http: &reqwest::Client, url: &str, within: Duration) {
    let started = Instant::now();
    loop {
        let ok = http
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return;
        }
        assert!(started.elapsed() < within, "{url} not ready in {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub struct Simulator {
    child: Child,
    pub base: String,
}

impl Simulator {
    /// The simulator, allowing `quota_per_minute` calls a minute.
    pub async fn start(
        binary: &Path,
        data_dir: &Path,
        http: &reqwest::Client,
        quota_per_minute: u32,
    ) -> Self {
        let port = free_port();
        let child = Command::new(binary)
            .args(["simulator", "--addr", &format!("127.0.0.1:{port}")])
            .args(["--quota-per-minute", &quota_per_minute.to_string()])
            .env("ITF_DATA_DIR", data_dir)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the simulator starts");
        let base = format!("http://127.0.0.1:{port}/_sim/lighthouse");
        wait_ready(http, &format!("{base}/mode"), Duration::from_secs(30)).await;
        Self { child, base }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One app instance: its settings are kept so that it can be started again
/// on the same port.
pub struct Instance {
    binary: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
    pub base: String,
}

impl Instance {
    pub fn new(binary: &Path, env: Vec<(String, String)>) -> Self {
        let port = free_port();
        let mut env = env;
        env.push(("LEPTOS_SITE_ADDR".to_owned(), format!("127.0.0.1:{port}")));
        Self {
            binary: binary.to_path_buf(),
            env,
            child: None,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn start(&mut self) {
        let child = Command::new(&self.binary)
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("an instance starts");
        self.child = Some(child);
    }

    /// Starts the instance and waits until it is ready.
    pub async fn start_ready(&mut self, http: &reqwest::Client) {
        self.start();
        wait_ready(
            http,
            &format!("{}/readyz", self.base),
            Duration::from_secs(60),
        )
        .await;
    }

    /// The running process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP (`stop`) or SIGCONT.
    pub fn signal(&self, stop: bool) {
        if let Some(child) = &self.child {
            let signal = if stop { "-STOP" } else { "-CONT" };
            let _ = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.signal(false);
        self.kill();
    }
}

/// Signs `requests` distinct veterans in at `base` (`load-{first}` on) and
/// asks for a compensation ITF for each, 16 at a time; returns how many
/// were queued (answered 202).
pub async fn queue(base: &str, first: usize, requests: usize) -> usize {
    futures_util::stream::iter(first..first + requests)
        .map(|n| async move {
            let browser = reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client");
            let user = format!("load-{n}");
            let signed_in = browser
                .post(format!("{base}/sign-in/mock"))
                .form(&[("user", user.as_str())])
                .send()
                .await
                .is_ok_and(|r| r.status().is_redirection());
            let queued = browser
                .post(format!("{base}/v0/intent_to_file/compensation"))
                .send()
                .await
                .is_ok_and(|r| r.status() == reqwest::StatusCode::ACCEPTED);
            signed_in && queued
        })
        .buffer_unordered(16)
        .filter(|queued| std::future::ready(*queued))
        .count()
        .await
}

/// A process's resident memory, in MB, from /proc.
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}
