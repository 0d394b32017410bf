//! A webhook receiver as another VA service runs one: a Node.js process
//! (`end2end/webhooks/receiver.mjs`) that verifies each delivery with the
//! `standardwebhooks` package from npm.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Receiver {
    child: Child,
    pub base: String,
}

impl Receiver {
    /// A receiver that knows `secret` and answers the first `fail_first`
    /// deliveries with 500.
    pub fn start(secret: &str, fail_first: u32) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../end2end/webhooks/receiver.mjs"
        );
        let mut child = Command::new("node")
            .arg(script)
            .env("WEBHOOK_SECRET", secret)
            .env("WEBHOOK_FAIL_FIRST", fail_first.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs the receiver (scripts/install.sh installs its packages)");
        let stdout = child.stdout.take().expect("a piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the receiver says where it listens");
        let port = line
            .trim()
            .strip_prefix("webhook receiver listening on ")
            .unwrap_or_else(|| panic!("the receiver said {line:?}"));
        Self {
            base: format!("http://127.0.0.1:{port}"),
            child,
        }
    }

    /// Where events go, for the endpoints file.
    pub fn events_url(&self) -> String {
        format!("{}/events", self.base)
    }

    /// Every delivery so far, in order.
    pub async fn received(&self) -> Vec<Value> {
        reqwest::get(format!("{}/received", self.base))
            .await
            .expect("the receiver answers")
            .json()
            .await
            .expect("a JSON list")
    }

    /// Answers the next `n` deliveries with 500.
    pub async fn fail_next(&self, n: u32) {
        let answer = reqwest::Client::new()
            .post(format!("{}/fail?n={n}", self.base))
            .send()
            .await
            .expect("the receiver answers");
        assert!(answer.status().is_success());
    }

    /// Waits until `done` holds of the deliveries so far; returns them.
    pub async fn until(&self, limit: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let received = self.received().await;
            if done(&received) {
                return received;
            }
            assert!(
                started.elapsed() < limit,
                "not received within {limit:?}: {received:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An endpoints file (`ITF_WEBHOOKS_FILE`) naming `url` as `name`, signed
/// with `secrets`.
pub fn endpoints_file(name: &str, url: &str, secrets: &[&str]) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    writeln!(file, "# test endpoints\n{name} {url} {}", secrets.join(" ")).expect("written");
    file
}
