//! With debug logging on for every crate, a run of the client against the
//! simulator, through every path that touches credentials, logs no token,
//! no client assertion and no ICN.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::support::provider::{icn, Rig};
use itf_app::domain::ItfType::Compensation;
use itf_server::provider::Outcome;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A run of 32 or more hex digits: the shape of the simulator's tokens.
fn has_long_hex_run(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= 32 {
            return true;
        }
    }
    false
}

/// Ten digits, `V`, six digits.
fn has_icn_shape(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(17).any(|w| {
        w[..10].iter().all(u8::is_ascii_digit)
            && w[10] == b'V'
            && w[11..].iter().all(u8::is_ascii_digit)
    })
}

#[tokio::test]
async fn debug_logs_carry_no_token_assertion_or_icn() {
    let captured = Captured::default();
    let writer = captured.clone();
    // This test's thread only (the runtime is single-threaded), so that the
    // other tests of this binary neither slow down nor mix in.
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _scope = tracing::subscriber::set_default(subscriber);

    let rig = Rig::start(10_000, std::time::Duration::from_millis(300)).await;
    let vet = icn("vet-no-itf");
    assert_eq!(rig.get(&vet, Compensation).await, Outcome::NoneActive);
    assert!(matches!(
        rig.post(&vet, Compensation, None).await,
        Outcome::Created(_)
    ));
    rig.http
        .delete(format!("{}/tokens", rig.base))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        rig.get(&vet, Compensation).await,
        Outcome::Active(_)
    ));
    assert!(matches!(
        rig.post(&icn("vet-unknown"), Compensation, None).await,
        Outcome::Permanent { .. }
    ));
    for mode in ["auth_rejected", "down", "slow"] {
        rig.set_mode(json!({"mode": mode, "delay_ms": 1000})).await;
        rig.get(&icn("vet-active-itf"), Compensation).await;
    }

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("GET /veterans/{icn}/intent-to-file/{type}"),
        "the client's debug lines were not captured:\n{text}"
    );
    assert!(
        text.contains("credentials refused"),
        "the refresh path did not run:\n{text}"
    );
    assert!(!has_icn_shape(&text), "an ICN was logged:\n{text}");
    assert!(
        !text.contains("eyJ"),
        "a client assertion was logged:\n{text}"
    );
    assert!(!has_long_hex_run(&text), "a token was logged:\n{text}");
}
